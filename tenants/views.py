"""The platform's own pages (public schema): home, signup, login, 'my nations'."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_ratelimit.decorators import ratelimit

from .actions import EmailTaken, Owner, SlugTaken, nation_create
from .forms import LoginForm, SignupForm
from .handoff import handoff_issue
from .hosts import subdomain_for
from .models import Membership, Nation
from .slugs import validate_slug


def home(request):
    return render(request, "platform/home.html", {"platform_domain": settings.PLATFORM_DOMAIN})


@ratelimit(key="ip", rate=lambda g, r: settings.SIGNUP_RATE, method="POST", block=True)
def signup(request):
    user = request.user if request.user.is_authenticated else None
    if request.method == "POST":
        # Errors come back in the language the visitor picked for their nation.
        if request.POST.get("language") in dict(settings.LANGUAGES):
            translation.activate(request.POST["language"])
        form = SignupForm(request.POST, user=user)
        if form.is_valid():
            data = form.cleaned_data
            owner = user or Owner(
                full_name=data["full_name"], email=data["email"], password=data["password"]
            )
            try:
                nation = nation_create(
                    name=data["name"],
                    slug=data["slug"],
                    country=data["country"],
                    language=data["language"],
                    owner=owner,
                    plan=data["plan"],
                )
            except SlugTaken:
                form.add_error("slug", _("This web address was just taken. Please choose another."))
            except EmailTaken:
                form.add_error(
                    "email",
                    _(
                        "An account with this email already exists. Log in "
                        "first to create another nation with it."
                    ),
                )
            else:
                account = user or nation.memberships.get().user
                return HttpResponseRedirect(handoff_issue(user=account, nation=nation))
    else:
        form = SignupForm(user=user, initial={"language": translation.get_language()[:2]})
    return render(
        request, "platform/signup.html", {"form": form, "suffix": "." + settings.PLATFORM_DOMAIN}
    )


@ratelimit(key="ip", rate=lambda g, r: settings.LOGIN_RATE, method="POST", block=True)
@ratelimit(key="post:email", rate=lambda g, r: settings.LOGIN_RATE, method="POST", block=True)
def platform_login(request):
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = authenticate(
            request, email=form.cleaned_data["email"], password=form.cleaned_data["password"]
        )
        if user is None:
            form.add_error(None, _("This email and password do not match an account."))
        else:
            login(request, user)
            return redirect("platform:my_nations")
    return render(request, "platform/login.html", {"form": form})


@require_POST
def platform_logout(request):
    logout(request)
    return redirect("platform:home")


@login_required(login_url="platform:login")
def my_nations(request):
    memberships = (
        Membership.objects.filter(user=request.user)
        .select_related("nation")
        .order_by("nation__name")
    )
    return render(request, "platform/my_nations.html", {"memberships": memberships})


@login_required(login_url="platform:login")
@require_POST
def open_nation(request, nation_id: int):
    """Hand the logged-in user over to one of their nations' panel."""
    membership = get_object_or_404(Membership, user=request.user, nation_id=nation_id)
    nation: Nation = membership.nation
    if nation.status != Nation.Status.ACTIVE:
        from billing.models import Subscription

        unpaid = Subscription.objects.filter(nation=nation, suspended_by_billing=True).exists()
        if unpaid and membership.role == Membership.Role.OWNER:
            # Suspended for non-payment: the owner goes straight to the page that restores it.
            return HttpResponseRedirect(
                handoff_issue(
                    user=request.user, nation=nation, next_path="/panel/settings/billing/"
                )
            )
        messages.error(request, _("This nation is suspended."))
        return redirect("platform:my_nations")
    return HttpResponseRedirect(handoff_issue(user=request.user, nation=nation))


def slug_check(request):
    """htmx: tells whether a web address is free while the visitor types it."""
    slug = request.GET.get("slug", "")
    try:
        validate_slug(slug)
    except ValidationError as error:
        return render(
            request, "platform/_slug_check.html", {"message": error.messages[0], "ok": False}
        )
    if Nation.objects.filter(slug=slug).exists():
        message, ok = _("This web address is already taken."), False
    else:
        message, ok = _("%(host)s is free.") % {"host": subdomain_for(slug)}, True
    return render(request, "platform/_slug_check.html", {"message": message, "ok": ok})
