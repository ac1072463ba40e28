"""State changes of nations, domains and memberships. Views, commands and tasks call these."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .dns import LookupFailed, Resolver, get_resolver
from .hosts import subdomain_for
from .models import Domain, Membership, Nation, User
from .provisioning import clone_template, drop_schema
from .routing import routing_changed
from .slugs import schema_name_for

log = logging.getLogger(__name__)

CURRENCY_BY_COUNTRY = {
    "FR": "EUR",
    "BE": "EUR",
    "DE": "EUR",
    "ES": "EUR",
    "IT": "EUR",
    "IE": "EUR",
    "NL": "EUR",
    "PT": "EUR",
    "LU": "EUR",
    "AT": "EUR",
    "FI": "EUR",
    "GR": "EUR",
    "US": "USD",
    "GB": "GBP",
    "CA": "CAD",
    "CH": "CHF",
    "AU": "AUD",
}
TIMEZONE_BY_COUNTRY = {
    "FR": "Europe/Paris",
    "BE": "Europe/Brussels",
    "CH": "Europe/Zurich",
    "GB": "Europe/London",
    "US": "America/New_York",
    "CA": "America/Toronto",
    "DE": "Europe/Berlin",
    "ES": "Europe/Madrid",
    "IT": "Europe/Rome",
}


class SlugTaken(Exception):
    """Another nation has (or just took) this subdomain."""


class EmailTaken(Exception):
    """An account with this email already exists."""


class DomainError(Exception):
    """A custom domain cannot be added; the message says why, in the user's language."""


@dataclass(frozen=True)
class Owner:
    full_name: str
    email: str
    password: str


def nation_create(
    *,
    name: str,
    slug: str,
    country: str,
    language: str,
    owner: User | Owner,
    plan: str = "starter",
) -> Nation:
    """Create a live nation: its row, its schema (a template clone), its subdomain, its owner.

    All or nothing: on any failure nothing remains (no schema, domain, account or membership).
    Raises SlugTaken when the slug is taken, including by a signup racing this one, and
    EmailTaken when `owner` is a new Owner whose email already has an account."""
    schema_name = schema_name_for(slug)
    try:
        with transaction.atomic():
            if isinstance(owner, Owner):
                user = _user_create(owner, language=language)
            else:
                user = owner
            try:
                with transaction.atomic():
                    nation = Nation.objects.create(
                        schema_name=schema_name,
                        slug=slug,
                        name=name.strip(),
                        country=country,
                        language=language,
                        plan=plan,
                        status=Nation.Status.PROVISIONING,
                        currency=CURRENCY_BY_COUNTRY.get(country, "USD"),
                        timezone=TIMEZONE_BY_COUNTRY.get(country, "UTC"),
                    )
            except IntegrityError as exc:
                raise SlugTaken(slug) from exc
            clone_template(schema_name)
            Domain.objects.create(
                domain=subdomain_for(slug),
                tenant=nation,
                is_primary=True,
                verified=True,
                verified_at=timezone.now(),
            )
            Membership.objects.create(user=user, nation=nation, role=Membership.Role.OWNER)
            from billing.actions import trial_start  # billing depends on tenants, not back

            trial_start(nation=nation, plan_code=plan)
            nation.status = Nation.Status.ACTIVE
            nation.save(update_fields=["status"])
            routing_changed()
    except IntegrityError as exc:
        if "domain" in str(exc):
            raise SlugTaken(slug) from exc
        raise
    log.info("nation %s created by %s", slug, user.email)
    return nation


def _user_create(owner: Owner, *, language: str) -> User:
    email = owner.email.strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise EmailTaken(email)
    try:
        with transaction.atomic():
            return User.objects.create_user(
                email=email,
                password=owner.password,
                full_name=owner.full_name.strip(),
                language=language,
            )
    except IntegrityError as exc:
        raise EmailTaken(email) from exc


def nation_suspend(*, nation: Nation) -> None:
    """Close the site (neutral 'unavailable' page) and lock the panel. Data is kept."""
    Nation.objects.filter(pk=nation.pk).update(
        status=Nation.Status.SUSPENDED, suspended_at=timezone.now()
    )
    routing_changed()
    nation.refresh_from_db()


def nation_reactivate(*, nation: Nation) -> None:
    """Bring a suspended nation (or one scheduled for deletion) back, as it was."""
    Nation.objects.filter(pk=nation.pk).update(
        status=Nation.Status.ACTIVE, suspended_at=None, deletion_due_at=None
    )
    routing_changed()
    nation.refresh_from_db()


def nation_schedule_deletion(*, nation: Nation) -> None:
    """Close the nation now, export its data, and delete it after the grace period.

    The purge (tenants.tasks.purge_due_nations) never deletes a nation whose export is missing."""
    from .tasks import export_nation

    due = timezone.now() + timedelta(days=settings.NATIONS_DELETION_GRACE_DAYS)
    Nation.objects.filter(pk=nation.pk).update(
        status=Nation.Status.SCHEDULED_FOR_DELETION,
        deletion_due_at=due,
        suspended_at=nation.suspended_at or timezone.now(),
    )
    routing_changed()
    nation.refresh_from_db()
    nation_id = nation.pk
    transaction.on_commit(lambda: export_nation.delay(nation_id))


def nation_purge(*, nation: Nation) -> None:
    """Drop the schema and every public row of a nation whose deletion is due and exported."""
    if nation.status != Nation.Status.SCHEDULED_FOR_DELETION or not nation.export_file:
        raise ValueError(f"nation {nation.slug} is not ready to purge")
    with transaction.atomic():
        drop_schema(nation.schema_name)
        Nation.objects.filter(pk=nation.pk).delete()
        routing_changed()
    log.warning("nation %s purged; export kept at %s", nation.slug, nation.export_file)


HOSTNAME_RE = re.compile(r"^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def normalise_hostname(value: str) -> str:
    host = value.strip().lower().rstrip(".")
    for prefix in ("https://", "http://"):
        if host.startswith(prefix):
            host = host[len(prefix) :]
    host = host.split("/")[0]
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise DomainError(_("This is not a valid domain name.")) from exc
    return host


def domain_add(*, nation: Nation, hostname: str) -> Domain:
    """Register a custom domain for `nation`, unverified until its TXT record is seen.

    Refused (DomainError) beyond the plan's custom-domain limit."""
    from billing.limits import PlanLimitReached, ensure_within

    host = normalise_hostname(hostname)
    if not HOSTNAME_RE.match(host):
        raise DomainError(_("This is not a valid domain name (for example: www.example.org)."))
    platform = settings.PLATFORM_DOMAIN.lower()
    if host == platform or host.endswith("." + platform):
        raise DomainError(
            _("Subdomains of %(platform)s are given by the platform.") % {"platform": platform}
        )
    try:
        ensure_within(nation, "domains", adding=1)
    except PlanLimitReached as exc:
        raise DomainError(str(exc)) from exc
    try:
        with transaction.atomic():
            return Domain.objects.create(
                domain=host,
                tenant=nation,
                is_custom=True,
                is_primary=False,
                verified=False,
                verification_token=Domain.new_token(),
            )
    except IntegrityError as exc:
        raise DomainError(_("This domain is already registered.")) from exc


def verification_record_name(domain: Domain) -> str:
    return f"_nations-verify.{domain.domain}"


def verification_record_value(domain: Domain) -> str:
    return f"nations-verify={domain.verification_token}"


def domain_verify(*, domain: Domain, resolver: Resolver | None = None) -> bool:
    """Look for the TXT token; mark the domain verified (and serving) when it is there."""
    resolver = resolver or get_resolver()
    now = timezone.now()
    try:
        records = resolver.txt_records(verification_record_name(domain))
    except LookupFailed as exc:
        Domain.objects.filter(pk=domain.pk).update(
            last_checked_at=now, last_check_error=_("DNS lookup failed: %(e)s") % {"e": exc}
        )
        domain.refresh_from_db()
        return False
    if verification_record_value(domain) in records:
        Domain.objects.filter(pk=domain.pk).update(
            verified=True, verified_at=now, last_checked_at=now, last_check_error=""
        )
        routing_changed()
    else:
        Domain.objects.filter(pk=domain.pk).update(
            last_checked_at=now,
            last_check_error=_("The TXT record was not found yet. DNS changes can take a while."),
        )
    domain.refresh_from_db()
    return domain.verified


def domain_make_primary(*, domain: Domain) -> None:
    if not domain.verified:
        raise DomainError(_("Verify the domain before making it the main address."))
    with transaction.atomic():
        Domain.objects.filter(tenant_id=domain.tenant_id).update(is_primary=False)
        Domain.objects.filter(pk=domain.pk).update(is_primary=True)


def domain_remove(*, domain: Domain) -> None:
    if not domain.is_custom:
        raise DomainError(_("The platform subdomain cannot be removed."))
    with transaction.atomic():
        was_primary = domain.is_primary
        domain.delete()
        routing_changed()
        if was_primary:
            Domain.objects.filter(tenant_id=domain.tenant_id, is_custom=False).update(
                is_primary=True
            )


def membership_add(*, nation: Nation, user: User, role: str, permissions: list[str]) -> Membership:
    membership, _created = Membership.objects.update_or_create(
        nation=nation, user=user, defaults={"role": role, "permissions": permissions}
    )
    return membership
