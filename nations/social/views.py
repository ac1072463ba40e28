"""Panel screens of social posts (Communication → Social). Thin: parse, fetch in the nation's
schema, call an action, respond. Everything needs `comms.send`."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from nations.panel.access import staff_required

from . import actions, networks
from .forms import AutoPostForm, MastodonConnectForm, PostForm, XConnectForm
from .models import SocialAccount, SocialPost
from .selectors import with_results

PERMISSION = "comms.send"


def _ctx(**extra):
    return {"section": "communication", "tab": "social", **extra}


@staff_required(PERMISSION)
def posts(request):
    page = Paginator(SocialPost.objects.all(), 25).get_page(request.GET.get("page"))
    page.object_list = with_results(page.object_list)
    return render(
        request,
        "social/posts.html",
        _ctx(
            page=page,
            has_accounts=SocialAccount.objects.exists(),
            reconnect=SocialAccount.objects.filter(status=SocialAccount.Status.RECONNECT),
        ),
    )


@staff_required(PERMISSION)
def post_new(request):
    if not SocialAccount.objects.filter(status=SocialAccount.Status.CONNECTED).exists():
        messages.info(request, _("First connect an X or Mastodon account."))
        return redirect("panel:social:accounts")
    form = PostForm(request.POST or None, nation=request.tenant)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            post = actions.post_create(
                text=data["text"],
                accounts=list(data["accounts"]),
                at=data["at"],
                actor_name=request.user.get_full_name() or request.user.email,
            )
        except networks.SocialError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                _("Post scheduled.") if data["at"] else _("Posting now."),
            )
            return redirect("panel:social:post", post.pk)
    return render(request, "social/post_new.html", _ctx(form=form))


@staff_required(PERMISSION)
def post_detail(request, social_post_id: int):
    post = with_results([get_object_or_404(SocialPost, pk=social_post_id)])[0]
    return render(request, "social/post_detail.html", _ctx(post=post))


@require_POST
@staff_required(PERMISSION)
def post_cancel(request, social_post_id: int):
    post = get_object_or_404(SocialPost, pk=social_post_id)
    if actions.post_cancel(post=post):
        messages.success(request, _("Scheduled post cancelled."))
    else:
        messages.error(request, _("This post is no longer scheduled."))
    return redirect("panel:social:post", post.pk)


def _accounts_page(request, *, x_form=None, mastodon_form=None, status=200):
    return render(
        request,
        "social/accounts.html",
        _ctx(
            accounts=SocialAccount.objects.all(),
            x_form=x_form or XConnectForm(prefix="x"),
            mastodon_form=mastodon_form or MastodonConnectForm(prefix="mastodon"),
            x_ready=networks.x_configured(),
            local_server=settings.SOCIAL_X_API_BASE,
        ),
        status=status,
    )


@staff_required(PERMISSION)
def accounts(request):
    return _accounts_page(request)


@require_POST
@staff_required(PERMISSION)
def connect_x(request):
    form = XConnectForm(request.POST, prefix="x")
    if form.is_valid():
        try:
            account = actions.account_connect_x(**form.cleaned_data)
        except networks.SocialError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Connected %(account)s.") % {"account": account.handle})
            return redirect("panel:social:accounts")
    return _accounts_page(request, x_form=form, status=400)


SESSION_X_REQUEST = "social:x-request-token"


@require_POST
@staff_required(PERMISSION)
def connect_x_start(request):
    """Sign in with X: off to X's authorize page, back to `connect_x_callback`."""
    callback = request.build_absolute_uri(reverse("panel:social:connect_x_callback"))
    try:
        url, request_token = networks.x_authorize_start(callback)
    except networks.SocialError as error:
        messages.error(request, str(error))
        return redirect("panel:social:accounts")
    request.session[SESSION_X_REQUEST] = request_token
    return redirect(url)


@staff_required(PERMISSION)
def connect_x_callback(request):
    pending = request.session.pop(SESSION_X_REQUEST, None)
    token = request.GET.get("oauth_token", "")
    if request.GET.get("denied"):
        messages.info(request, _("X access was not granted; no account was connected."))
        return redirect("panel:social:accounts")
    # The request token must be the one this staff member's session started with.
    if not pending or token != pending.get("oauth_token"):
        messages.error(request, _("This X authorization is not the one started here; start again."))
        return redirect("panel:social:accounts")
    try:
        access_token, access_secret = networks.x_authorize_finish(
            pending, request.GET.get("oauth_verifier", "")
        )
        account = actions.account_connect_x(access_token=access_token, access_secret=access_secret)
    except networks.SocialError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Connected %(account)s.") % {"account": account.handle})
    return redirect("panel:social:accounts")


@require_POST
@staff_required(PERMISSION)
def connect_mastodon(request):
    form = MastodonConnectForm(request.POST, prefix="mastodon")
    if form.is_valid():
        try:
            account = actions.account_connect_mastodon(**form.cleaned_data)
        except networks.SocialError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Connected %(account)s.") % {"account": account.handle})
            return redirect("panel:social:accounts")
    return _accounts_page(request, mastodon_form=form, status=400)


@require_POST
@staff_required(PERMISSION)
def account_autopost(request, social_account_id: int):
    account = get_object_or_404(SocialAccount, pk=social_account_id)
    on = request.POST.get("autopost") == "on"
    actions.account_set_autopost(account=account, on=on)
    messages.success(
        request,
        (_("%(account)s will post new blog posts and events.") if on
         else _("%(account)s will not post automatically.")) % {"account": account.handle},
    )  # fmt: skip
    return redirect("panel:social:accounts")


@require_POST
@staff_required(PERMISSION)
def account_disconnect(request, social_account_id: int):
    account = get_object_or_404(SocialAccount, pk=social_account_id)
    actions.account_disconnect(account=account)
    messages.success(request, _("Disconnected %(account)s.") % {"account": account.handle})
    return redirect("panel:social:accounts")


@staff_required(PERMISSION)
def autopost(request):
    form = AutoPostForm(request.POST or None, instance=actions.autopost_settings())
    if request.method == "POST" and form.is_valid():
        try:
            actions.autopost_settings_save(template=form.cleaned_data["template"])
        except networks.SocialError as error:
            form.add_error("template", str(error))
        else:
            messages.success(request, _("Automatic post template saved."))
            return redirect("panel:social:autopost")
    return render(
        request,
        "social/autopost.html",
        _ctx(form=form, autopost_accounts=SocialAccount.objects.filter(autopost=True)),
    )
