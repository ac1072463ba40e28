"""Every change to a nation's social accounts and posts.

Posts are written here and handed to the comms delivery pipeline (`post_launch`): one Delivery
per account, channel "social". Errors staff can meet are `SocialError`s with a clear message."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from liquid.exceptions import LiquidError

from nations.comms.models import Channel, Delivery
from tenants.hosts import nation_url
from themes.engine import SandboxEnvironment, ThemeLoader, describe

from . import networks
from .models import AutoPostSettings, Network, PostTarget, SocialAccount, SocialPost
from .networks import SocialError

log = logging.getLogger(__name__)

AUTOPOST_KINDS = ("post", "event")
_env = SandboxEnvironment(ThemeLoader("default", {}))
_env.autoescape = False  # plain text, not HTML


class PostTooLong(SocialError):
    pass


# --- accounts --------------------------------------------------------------------------------
def _save_account(
    *, network: str, identity: networks.Identity, instance_url: str, token: str, secret: str
) -> SocialAccount:
    account, _created = SocialAccount.objects.update_or_create(
        network=network,
        instance_url=instance_url,
        remote_id=identity.remote_id,
        defaults={
            "handle": identity.handle,
            "access_token": token,
            "access_secret": secret,
            "status": SocialAccount.Status.CONNECTED,
            "status_message": "",
            "connected_at": timezone.now(),
        },
    )
    return account


def account_connect_x(*, access_token: str, access_secret: str) -> SocialAccount:
    """Check the tokens with X (GET /2/users/me) and save them encrypted. Connecting an account
    again (new tokens after a revocation) updates it and clears "needs reconnecting".
    Raises SocialError."""
    access_token, access_secret = access_token.strip(), access_secret.strip()
    if not access_token or not access_secret:
        raise SocialError(_("Enter the access token and its secret."))
    identity = networks.x_verify(access_token, access_secret)
    return _save_account(
        network=Network.X, identity=identity, instance_url="", token=access_token,
        secret=access_secret,
    )  # fmt: skip


def account_connect_mastodon(*, instance_url: str, access_token: str) -> SocialAccount:
    """Check the token with the instance (verify_credentials) and save it encrypted."""
    base = networks.instance_base(instance_url)
    access_token = access_token.strip()
    if not access_token:
        raise SocialError(_("Enter the access token."))
    identity = networks.mastodon_verify(base, access_token)
    return _save_account(
        network=Network.MASTODON, identity=identity, instance_url=base, token=access_token,
        secret="",
    )  # fmt: skip


@transaction.atomic
def account_disconnect(*, account: SocialAccount) -> None:
    """Forget the account and its tokens; its posts not yet made are cancelled."""
    Delivery.objects.filter(
        pk__in=account.targets.values("delivery_id"), status=Delivery.Status.QUEUED
    ).update(status=Delivery.Status.CANCELLED)
    account.delete()


def account_set_autopost(*, account: SocialAccount, on: bool) -> None:
    SocialAccount.objects.filter(pk=account.pk).update(autopost=on)


# --- posts -----------------------------------------------------------------------------------
def check_length(text: str, accounts: list[SocialAccount]) -> None:
    """Raises PostTooLong naming the network and how much to cut."""
    for network in sorted({a.network for a in accounts}):
        limit = networks_limit(network)
        length = networks.post_length(text, network)
        if length > limit:
            raise PostTooLong(
                _(
                    "Too long for %(network)s: %(length)s characters, the limit is %(limit)s "
                    "(links count as 23). Cut %(over)s."
                )
                % {
                    "network": Network(network).label,
                    "length": length,
                    "limit": limit,
                    "over": length - limit,
                }
            )


def networks_limit(network: str) -> int:
    from .models import LIMITS

    return LIMITS[Network(network)]


@transaction.atomic
def post_create(
    *,
    text: str,
    accounts: list[SocialAccount],
    at: datetime | None = None,
    actor_name: str = "",
    page_id: int | None = None,
    texts: dict[int, str] | None = None,
) -> SocialPost:
    """Save a post to `accounts`, posted at `at` (now if None or past). Raises SocialError
    (nothing saved) when the text is empty or too long, or an account needs reconnecting.
    `texts` gives an account its own text (automatic posts shortened to fit)."""
    text = text.strip()
    if not text:
        raise SocialError(_("Write the post's text."))
    if not accounts:
        raise SocialError(_("Pick at least one account."))
    for account in accounts:
        if not account.is_connected:
            raise SocialError(
                _("%(account)s needs reconnecting before it can post.") % {"account": account}
            )
    texts = texts or {}
    for account in accounts:
        check_length(texts.get(account.pk, text), [account])
    post = SocialPost.objects.create(
        text=text,
        scheduled_at=at or timezone.now(),
        created_by_name=actor_name[:150],
        page_id=page_id,
    )
    PostTarget.objects.bulk_create(
        PostTarget(post=post, account=a, text=texts.get(a.pk, text)) for a in accounts
    )
    if post.scheduled_at <= timezone.now():
        post_launch(post=post)
    return post


@transaction.atomic
def post_launch(*, post: SocialPost) -> bool:
    """Hand a scheduled post to the pipeline: one queued delivery per account (once: a post
    already launched is left alone)."""
    from nations.comms.tasks import start_pumps

    launched = SocialPost.objects.filter(pk=post.pk, status=SocialPost.Status.SCHEDULED).update(
        status=SocialPost.Status.SENDING, launched_at=timezone.now()
    )
    if not launched:
        return False
    for target in PostTarget.objects.filter(post=post).select_related("account"):
        delivery = Delivery.objects.create(
            channel=Channel.SOCIAL,
            address=target.account.handle[:254],
            kind="social",
            payload={"post": post.pk, "account": target.account_id},
        )
        PostTarget.objects.filter(pk=target.pk).update(delivery=delivery)
    post.status = SocialPost.Status.SENDING
    start_pumps(Channel.SOCIAL, transactional=True)
    return True


def posts_launch_due(*, now: datetime | None = None) -> int:
    """Launch scheduled posts whose time has come (beat, every minute)."""
    due = SocialPost.objects.filter(
        status=SocialPost.Status.SCHEDULED, scheduled_at__lte=now or timezone.now()
    )
    return sum(post_launch(post=post) for post in due)


def post_cancel(*, post: SocialPost) -> bool:
    return bool(
        SocialPost.objects.filter(pk=post.pk, status=SocialPost.Status.SCHEDULED).update(
            status=SocialPost.Status.CANCELLED
        )
    )


# --- automatic posts -------------------------------------------------------------------------
def autopost_settings() -> AutoPostSettings:
    return AutoPostSettings.objects.filter(pk=1).first() or AutoPostSettings(pk=1)


def _compile(source: str):
    try:
        return _env.from_string(source)
    except LiquidError as error:
        raise SocialError(describe(error)) from error


def autopost_settings_save(*, template: str) -> AutoPostSettings:
    """Save the template after rendering it once with a sample page. Raises SocialError."""
    sample = {"title": "Sample", "url": "https://example.org/sample/", "intro": "", "kind": "post"}
    try:
        _compile(template).render(page=sample)
    except LiquidError as error:
        raise SocialError(describe(error)) from error
    settings, _created = AutoPostSettings.objects.update_or_create(
        pk=1, defaults={"template": template, "updated_at": timezone.now()}
    )
    return settings


def _page_context(page) -> dict:
    starts = ""
    if page.starts_at:
        import zoneinfo

        try:
            zone = zoneinfo.ZoneInfo(page.event_timezone or connection.tenant.timezone or "UTC")
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            zone = zoneinfo.ZoneInfo("UTC")
        starts = page.starts_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    return {
        "title": page.title,
        "url": nation_url(connection.tenant, page.get_absolute_url()),
        "intro": page.intro,
        "kind": page.kind,
        "starts_at": starts,
        "venue": page.venue,
    }


def fit(text: str, network: str) -> str:
    """Shorten `text` to the network's limit, keeping its last link whole."""
    limit = networks_limit(network)
    if networks.post_length(text, network) <= limit:
        return text
    links = networks.URL.findall(text)
    link = links[-1] if links else ""
    head = text[: text.rfind(link)] if link else text
    tail = text[text.rfind(link) :] if link else ""
    while head and networks.post_length(f"{head.rstrip()}… {tail}".strip(), network) > limit:
        head = head[:-1]
    return f"{head.rstrip()}… {tail}".strip()


def autopost_page(*, page_id: int) -> SocialPost | None:
    """Post a newly published blog post or event to the accounts with automatic posts on.
    Once per page: republishing does nothing (SocialPost.page_id is unique). A post that
    cannot be made (bad template) is logged, never raised into the publish."""
    from nations.site.models import Page

    page = Page.objects.filter(pk=page_id, status=Page.Status.PUBLISHED).first()
    if page is None or page.kind not in AUTOPOST_KINDS:
        return None
    accounts = list(
        SocialAccount.objects.filter(autopost=True, status=SocialAccount.Status.CONNECTED)
    )
    if not accounts or SocialPost.objects.filter(page_id=page.pk).exists():
        return None
    try:
        text = _compile(autopost_settings().template).render(page=_page_context(page)).strip()
    except (LiquidError, SocialError) as error:
        log.warning("automatic post of page %s: %s", page.pk, error)
        return None
    if not text:
        return None
    at = page.publish_at if page.publish_at and page.publish_at > timezone.now() else None
    try:
        with transaction.atomic():
            return post_create(
                text=text,
                accounts=accounts,
                at=at,
                actor_name=_("Automatic post"),
                page_id=page.pk,
                texts={a.pk: fit(text, a.network) for a in accounts},
            )
    except IntegrityError:  # another publish of the same page got there first
        return None
    except SocialError as error:
        log.warning("automatic post of page %s: %s", page.pk, error)
        return None


def autopost_after_commit(*, page_id: int) -> None:
    """Called by the site's publish action: the automatic post runs once the page is live."""

    # The callback may run after the caller left the nation's schema (a command publishing
    # pages of several nations): it goes back to the nation it was queued from.
    nation = connection.tenant

    def run() -> None:
        from django_tenants.utils import tenant_context

        try:
            with tenant_context(nation), transaction.atomic():
                autopost_page(page_id=page_id)
        except Exception:  # never turn a published page into an error page
            log.exception("automatic post of page %s failed", page_id)

    transaction.on_commit(run)
