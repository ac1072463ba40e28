"""Donations: every write goes through here (views, the webhook, tasks and tests call these).

The money path, and what makes it safe:
- `donation_start` records a `pending` gift (unique `intent_key` per form load: a double click
  or a back + resubmit finds the same row) and opens a Checkout session on the nation's own
  Stripe account with an idempotency key derived from the gift, so one gift = one session.
- Only Stripe's word makes a gift `paid`: `checkout_converge` applies a Checkout session
  (fetched on the donor's return, or delivered by webhook, in either order), `invoice_paid`
  each payment of a recurring gift. Both lock the gift row and do nothing to a gift already
  paid, so any number of deliveries change it once.
- Refunds and disputes arrive by webhook (or from the panel's refund, which converges the same
  way) and move the person's donation aggregates, which are recomputed from this table.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Max, Min, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from nations.people.actions import SYSTEM, Actor, PersonErased, activity_record, person_upsert
from nations.people.models import Activity, Person

from .models import (
    COUNTED,
    CURRENCIES,
    RULE_PRESETS,
    Donation,
    DonationSettings,
    RecurringDonation,
    Rules,
    TaxReceipt,
    TaxReceiptCounter,
)

log = logging.getLogger(__name__)


class DonationRefused(Exception):
    """A gift we will not take, with a message for the donor (and the form field at fault)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class PaymentsNotReady(DonationRefused):
    """The nation has no Stripe account able to take payments yet."""


def money(amount: int, currency: str) -> str:
    from django.utils.formats import number_format

    value = Decimal(amount) / 100
    text = number_format(value, decimal_pos=2, use_l10n=True, force_grouping=True)
    symbol = {"EUR": "€", "USD": "$", "GBP": "£", "CAD": "CA$"}.get(currency.upper(), currency)
    return f"{text} {symbol}" if currency.upper() == "EUR" else f"{symbol}{text}"


# --- settings and the connected account ------------------------------------------------------
def donation_settings() -> DonationSettings:
    found = DonationSettings.objects.first()
    return found or DonationSettings.objects.create()


def rules_apply_preset(*, settings: DonationSettings, rules: str) -> DonationSettings:
    """Switch to a preset: its limits replace the current ones (staff may then edit them)."""
    if rules not in Rules.values:
        raise ValueError(rules)
    settings.rules = rules
    for name, value in RULE_PRESETS[rules].items():
        setattr(settings, name, value)
    settings.save()
    return settings


def _client():
    from billing.stripe_client import stripe_client

    return stripe_client()


def connected_account(nation):
    from .connect.models import ConnectedAccount

    return ConnectedAccount.objects.filter(nation=nation).first()


def connect_start(*, nation, return_url: str, refresh_url: str) -> str:
    """The URL of Stripe's onboarding for this nation's account (created once, on first use)."""
    from .connect.models import ConnectedAccount

    client = _client()
    account = connected_account(nation)
    if account is None:
        created = client.v1.accounts.create(
            params={
                "type": "standard",
                "country": (nation.country or "US").upper(),
                "business_profile": {"name": nation.name},
                "metadata": {"nation_id": str(nation.pk)},
            },
            options={"idempotency_key": f"nation-connect-{nation.pk}"},
        )
        account, _created = ConnectedAccount.objects.get_or_create(
            nation=nation, defaults={"account_id": created.id}
        )
    link = client.v1.account_links.create(
        params={
            "account": account.account_id,
            "type": "account_onboarding",
            "return_url": return_url,
            "refresh_url": refresh_url,
        }
    )
    return link.url


def account_apply(*, account_id: str, data: dict[str, Any]) -> bool:
    """Apply Stripe's view of a connected account (an `account.updated` or a fetch)."""
    from .connect.models import ConnectedAccount

    return bool(
        ConnectedAccount.objects.filter(account_id=account_id).update(
            charges_enabled=bool(data.get("charges_enabled")),
            payouts_enabled=bool(data.get("payouts_enabled")),
            details_submitted=bool(data.get("details_submitted")),
            updated_at=timezone.now(),
        )
    )


def connect_refresh(*, nation) -> None:
    account = connected_account(nation)
    if account is not None:
        fetched = _client().v1.accounts.retrieve(account.account_id)
        account_apply(account_id=account.account_id, data=fetched.to_dict())


# --- amounts and rules -----------------------------------------------------------------------
def parse_amount(raw: Any, *, settings: DonationSettings, currency: str) -> int:
    """A typed amount ("25", "25.50", "25,50") -> minor units, or DonationRefused."""
    text = str(raw or "").strip().replace(" ", "").replace("\u202f", "").replace(",", ".")
    if currency.upper() not in CURRENCIES:
        raise DonationRefused(
            _("Gifts in %(currency)s are not supported.") % {"currency": currency}
        )
    if not text:
        raise DonationRefused(_("Choose or enter an amount."), "amount")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise DonationRefused(
            _("Enter the amount as a number, like 25 or 25.50."), "amount"
        ) from None
    if not value.is_finite():
        raise DonationRefused(_("Enter the amount as a number, like 25 or 25.50."), "amount")
    if value <= 0:
        raise DonationRefused(_("The amount must be more than zero."), "amount")
    if value != value.quantize(Decimal("0.01")):
        raise DonationRefused(_("Use at most two decimals (cents)."), "amount")
    cents = int(value * 100)
    if cents < settings.min_amount:
        raise DonationRefused(
            _("The smallest gift is %(amount)s.")
            % {"amount": money(settings.min_amount, currency)},
            "amount",
        )
    if cents > settings.max_amount:
        raise DonationRefused(
            _("The largest gift we can take online is %(amount)s.")
            % {"amount": money(settings.max_amount, currency)},
            "amount",
        )
    return cents


def fee_for(amount: int, settings: DonationSettings) -> int:
    return int((Decimal(amount) * settings.fee_percent / 100).quantize(0, ROUND_HALF_UP))


def _counted_for(email: str, person: Person | None):
    who = Q(email__iexact=email)
    if person is not None:
        who |= Q(person=person)
    # Pending gifts count too: two open checkouts must not pass a limit together.
    return Donation.objects.filter(who).filter(
        COUNTED | Q(status="pending", created_at__gte=timezone.now() - timezone.timedelta(days=1))
    )


def _charges_left_this_year(interval: str, today: date) -> int:
    if interval == "month":
        return 12 - today.month + 1
    return 1


@dataclass
class Gift:
    amount: int  # what the donor pays, fees included
    interval: str  # "", "month", "year"
    email: str
    first_name: str
    last_name: str
    address1: str = ""
    postal_code: str = ""
    city: str = ""
    country: str = ""
    employer: str = ""
    occupation: str = ""
    natural_person: bool = False
    attestation: bool = False
    fee_covered: int = 0
    source: str = ""


def rules_check(*, settings: DonationSettings, gift: Gift, currency: str) -> None:
    """Refuse (DonationRefused) a gift that would break the nation's contribution rules.

    Counts what the donor (same email or same person) already gave and has pending, plus, for a
    recurring gift, every charge it would make in the rest of the period."""
    if settings.rules == Rules.NONE:
        return
    if settings.natural_persons_only and not gift.natural_person:
        raise DonationRefused(
            _("Only individuals may give, from their own funds (no companies or associations)."),
            "natural_person",
        )
    if settings.requires_attestation and not gift.attestation:
        raise DonationRefused(
            _("Please certify that you are of French nationality or live in France."),
            "attestation",
        )
    from nations.people.actions import find_match

    person = find_match(email=gift.email)
    given = _counted_for(gift.email, person)
    today = timezone.localdate()
    if settings.annual_limit:
        year_total = given.filter(created_at__year=today.year).aggregate(s=Sum("amount"))["s"] or 0
        planned = gift.amount * (
            _charges_left_this_year(gift.interval, today) if gift.interval else 1
        )
        if year_total + planned > settings.annual_limit:
            left = max(0, settings.annual_limit - year_total)
            raise DonationRefused(
                _(
                    "The law caps gifts at %(limit)s per person per calendar year; you can still "
                    "give %(left)s this year."
                )
                % {
                    "limit": money(settings.annual_limit, currency),
                    "left": money(left, currency),
                },
                "amount",
            )
    if settings.election_limit:
        election = given
        if settings.election_starts:
            election = election.filter(created_at__date__gte=settings.election_starts)
        total = election.aggregate(s=Sum("amount"))["s"] or 0
        planned = gift.amount * (12 if gift.interval == "month" else 1)
        if total + planned > settings.election_limit:
            left = max(0, settings.election_limit - total)
            raise DonationRefused(
                _(
                    "Gifts are capped at %(limit)s per person for this election; you can still "
                    "give %(left)s."
                )
                % {
                    "limit": money(settings.election_limit, currency),
                    "left": money(left, currency),
                },
                "amount",
            )
    if settings.itemize_threshold is not None:
        total = given.aggregate(s=Sum("amount"))["s"] or 0
        # A recurring gift counts a year of charges: its renewals must not pass the threshold
        # without the employer and occupation (renewals cannot ask for them).
        planned = gift.amount * {"month": 12, "year": 1}.get(gift.interval, 1)
        if total + planned > settings.itemize_threshold and not (
            gift.employer.strip() and gift.occupation.strip()
        ):
            raise DonationRefused(
                _(
                    "Federal law requires us to ask for your employer and occupation once your "
                    "gifts pass %(amount)s."
                )
                % {"amount": money(settings.itemize_threshold, currency)},
                "employer",
            )


# --- starting a gift -------------------------------------------------------------------------
@dataclass
class Started:
    donation: Donation
    checkout_url: str | None  # None: already paid (resubmitted after paying)


def donation_start(
    *,
    nation,
    page,
    gift: Gift,
    intent_key: str,
    success_url: str,
    cancel_url: str,
    language: str = "",
) -> Started:
    """Record the pending gift and open its Checkout session on the nation's account.

    Idempotent per `intent_key`: the same key (double click, back + resubmit) returns the same
    gift and session; a paid gift is never sent to Checkout again. Raises DonationRefused
    (rules, amounts, unsupported currency) and PaymentsNotReady before anything is recorded."""
    account = connected_account(nation)
    if account is None or not account.charges_enabled:
        raise PaymentsNotReady(_("This organisation cannot take payments online yet."))
    currency = nation.currency.upper()
    if currency not in CURRENCIES:
        raise DonationRefused(
            _("Gifts in %(currency)s are not supported.") % {"currency": currency}
        )
    settings = donation_settings()
    rules_check(settings=settings, gift=gift, currency=currency)
    fields = {
        "page": page,
        "interval": gift.interval,
        "amount": gift.amount,
        "fee_covered": gift.fee_covered,
        "currency": currency,
        "source": gift.source[:64],
        "email": gift.email,
        "first_name": gift.first_name,
        "last_name": gift.last_name,
        "address1": gift.address1,
        "postal_code": gift.postal_code,
        "city": gift.city,
        "country": gift.country,
        "employer": gift.employer,
        "occupation": gift.occupation,
        "attestation": gift.attestation,
        "language": language,
        "election": settings.election_name,
    }
    with transaction.atomic():
        try:
            with transaction.atomic():
                donation = Donation.objects.create(intent_key=intent_key, **fields)
        except IntegrityError:
            # The same form load again: wait for (the lock of) the first, then reuse it.
            donation = Donation.objects.select_for_update().get(intent_key=intent_key)
            if donation.status != Donation.Status.PENDING:
                return Started(donation, None)
            if (donation.amount, donation.interval) != (gift.amount, gift.interval):
                for name, value in fields.items():
                    setattr(donation, name, value)
                donation.save()
        session = _checkout_create(
            donation=donation,
            account_id=account.account_id,
            page_title=page.title if page else nation.name,
            success_url=success_url.replace("{donation_key}", str(donation.key)),
            cancel_url=cancel_url,
            language=language,
        )
        if donation.stripe_checkout_session_id != session.id:
            donation.stripe_checkout_session_id = session.id
            donation.save(update_fields=["stripe_checkout_session_id"])
    return Started(donation, session.url)


def _checkout_create(*, donation, account_id, page_title, success_url, cancel_url, language):
    client = _client()
    options = {"stripe_account": account_id}
    fingerprint = f"{donation.key}-{donation.amount}-{donation.interval or 'once'}"
    price_params: dict[str, Any] = {
        "currency": donation.currency.lower(),
        "unit_amount": donation.amount,
        "product_data": {"name": page_title[:200]},
    }
    if donation.interval:
        price_params["recurring"] = {"interval": donation.interval}
    price = client.v1.prices.create(
        params=price_params, options={**options, "idempotency_key": f"donation-price-{fingerprint}"}
    )
    metadata = {"donation_key": str(donation.key), "source": donation.source}
    params: dict[str, Any] = {
        "mode": "subscription" if donation.interval else "payment",
        "line_items": [{"price": price.id, "quantity": 1}],
        "success_url": success_url,
        "cancel_url": cancel_url,
        "customer_email": donation.email,
        "client_reference_id": str(donation.key),
        "metadata": metadata,
    }
    if language in ("fr", "en"):
        params["locale"] = language
    if donation.interval:
        params["subscription_data"] = {"metadata": metadata}
    else:
        params["payment_intent_data"] = {"metadata": metadata}
        params["submit_type"] = "donate"
        params["customer_creation"] = "always"
    return client.v1.checkout.sessions.create(
        params=params, options={**options, "idempotency_key": f"donation-checkout-{fingerprint}"}
    )


# --- Stripe tells us: payments ---------------------------------------------------------------
def checkout_converge(*, session: dict[str, Any]) -> Donation | None:
    """Apply a Checkout session (from the return page or the webhook; any order, any number of
    times). Returns the gift, or None if the session is not one of ours."""
    key = (session.get("metadata") or {}).get("donation_key") or session.get("client_reference_id")
    donation = (
        Donation.objects.select_for_update()
        .filter(Q(stripe_checkout_session_id=session["id"]) | Q(key=_uuid(key)))
        .first()
    )
    if donation is None:
        return None
    if session.get("status") == "expired" and donation.status == Donation.Status.PENDING:
        donation.status = Donation.Status.EXPIRED
        donation.save(update_fields=["status"])
        return donation
    if session.get("payment_status") != "paid" or session.get("status") != "complete":
        return donation
    if session.get("mode") == "subscription":
        recurring = _recurring_from(
            donation=donation,
            subscription_id=session.get("subscription"),
            customer_id=session.get("customer"),
        )
        if donation.stripe_invoice_id is None and session.get("invoice"):
            donation.stripe_invoice_id = session["invoice"]
        donation.recurring = recurring
    else:
        donation.stripe_payment_intent_id = session.get("payment_intent")
    _mark_paid(donation, customer_name=(session.get("customer_details") or {}).get("name"))
    return donation


def _uuid(value):
    import uuid

    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None


def _recurring_from(
    *, donation: Donation, subscription_id, customer_id
) -> RecurringDonation | None:
    if not subscription_id:
        return donation.recurring
    recurring, _created = RecurringDonation.objects.get_or_create(
        stripe_subscription_id=subscription_id,
        defaults={
            "person": donation.person,
            "page": donation.page,
            "amount": donation.amount,
            "currency": donation.currency,
            "interval": donation.interval or "month",
            "source": donation.source,
            "stripe_customer_id": customer_id or "",
        },
    )
    return recurring


def _mark_paid(donation: Donation, *, customer_name: str | None = None) -> None:
    """pending/failed -> paid, once; the donor becomes (or updates) a person."""
    if donation.status == Donation.Status.PAID or donation.status == Donation.Status.REFUNDED:
        donation.save()  # ids learnt on the way (invoice, intent) are kept
        return
    donation.status = Donation.Status.PAID
    donation.paid_at = timezone.now()
    donation.failure_message = ""
    person = donation.person or _donor_person(donation)
    donation.person = person
    donation.save()
    if donation.recurring_id and donation.recurring.person_id is None and person is not None:
        RecurringDonation.objects.filter(pk=donation.recurring_id).update(person=person)
    if person is not None:
        activity_record(
            person=person,
            kind=Activity.Kind.DONATED,
            summary=_gift_summary(donation),
            data={
                "donation": donation.pk,
                "amount": donation.amount,
                "currency": donation.currency,
                "recurring": bool(donation.interval),
                "source": donation.source,
            },
            at=donation.paid_at,
        )
        person_donations_refresh(person)
    from config.tasks import enqueue

    from .tasks import send_receipt

    enqueue(send_receipt, donation.pk)


def _gift_summary(donation: Donation) -> str:
    text = money(donation.amount, donation.currency)
    if donation.interval == "month":
        return _("%(amount)s monthly gift") % {"amount": text}
    if donation.interval == "year":
        return _("%(amount)s yearly gift") % {"amount": text}
    return _("%(amount)s gift") % {"amount": text}


def _donor_person(donation: Donation) -> Person | None:
    data = {
        "first_name": donation.first_name,
        "last_name": donation.last_name,
        "address1": donation.address1,
        "postal_code": donation.postal_code,
        "city": donation.city,
        "country": donation.country,
        "employer": donation.employer,
        "occupation": donation.occupation,
        "language": donation.language,
    }
    try:
        person, _created = person_upsert(
            data=data,
            email=donation.email,
            source="donation",
            self_signup=True,
            activity_summary=_("Gave through a donation page"),
        )
    except (PersonErased, Exception):  # a bad address must not lose a payment
        log.warning(
            "donation %s: donor could not be recorded as a person", donation.pk, exc_info=True
        )
        return None
    return person


def person_donations_refresh(person: Person) -> None:
    """Recompute a person's donation aggregates from their gifts (one aggregate query)."""
    counted = Donation.objects.filter(person=person).filter(COUNTED)
    figures = counted.aggregate(
        count=Count("id", filter=Q(refunded_amount__lt=F("amount"))),
        gross=Sum("amount"),
        refunded=Sum("refunded_amount"),
        first=Min("paid_at"),
        last=Max("paid_at"),
    )
    Person.objects.filter(pk=person.pk).update(
        donations_count=figures["count"] or 0,
        donations_total=(figures["gross"] or 0) - (figures["refunded"] or 0),
        first_donation_at=figures["first"],
        last_donation_at=figures["last"],
    )


def invoice_paid(*, invoice: dict[str, Any]) -> Donation | None:
    """A recurring gift's payment succeeded: its first, a renewal or a retry. Once per invoice."""
    donation = _invoice_donation(invoice)
    if donation is None:
        return None
    # The safety net behind invoice.created: a renewal charged past a cap anyway (the draft
    # was not stopped in time) is refunded at once and the gift stopped as it would have been.
    over = None
    if (
        invoice.get("billing_reason") == "subscription_cycle"
        and donation.recurring_id
        and donation.status not in (Donation.Status.PAID, Donation.Status.REFUNDED)
    ):
        over = renewal_breach(
            settings=donation_settings(),
            recurring=donation.recurring,
            amount=donation.amount,
            exclude=donation.pk,
        )
    if donation.recurring_id and over is None:
        RecurringDonation.objects.filter(pk=donation.recurring_id).exclude(
            status=RecurringDonation.Status.CANCELED
        ).update(status=RecurringDonation.Status.ACTIVE)
    _mark_paid(donation)
    if over is not None:
        recurring = RecurringDonation.objects.select_for_update(of=("self",)).get(
            pk=donation.recurring_id
        )
        refund_start(nation=connection.tenant, donation=donation)
        _renewal_stop(recurring=recurring, breach=over, amount=donation.amount, refunded=True)
        donation.refresh_from_db()
    return donation


def invoice_failed(*, invoice: dict[str, Any]) -> Donation | None:
    """A recurring payment failed: visible on the gift and the recurring gift."""
    donation = _invoice_donation(invoice)
    if donation is None or donation.status == Donation.Status.PAID:
        return donation
    attempts = invoice.get("attempt_count") or 1
    if (
        donation.failure_message
        and donation.status == Donation.Status.FAILED
        and (donation.failure_message.endswith(f"#{attempts}"))
    ):
        return donation
    donation.status = Donation.Status.FAILED
    donation.failure_message = _("Card declined (attempt #%(n)s)") % {"n": attempts}
    donation.save()
    if donation.recurring_id:
        RecurringDonation.objects.filter(pk=donation.recurring_id).update(
            status=RecurringDonation.Status.PAST_DUE,
            last_failure_at=timezone.now(),
            failures=F("failures") + 1,
        )
    return donation


def _invoice_donation(invoice: dict[str, Any]) -> Donation | None:
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    sub_id = details.get("subscription")
    key = _uuid((details.get("metadata") or {}).get("donation_key"))
    found = Donation.objects.select_for_update().filter(stripe_invoice_id=invoice["id"]).first()
    if found is not None:
        return found
    first = Donation.objects.select_for_update().filter(key=key).first() if key else None
    if first is None:
        return None
    recurring = _recurring_from(
        donation=first, subscription_id=sub_id, customer_id=invoice.get("customer")
    )
    if first.stripe_invoice_id is None and invoice.get("billing_reason") == "subscription_create":
        first.stripe_invoice_id = invoice["id"]
        first.recurring = recurring
        first.save(update_fields=["stripe_invoice_id", "recurring"])
        return first
    if first.recurring_id is None:
        first.recurring = recurring
        first.save(update_fields=["recurring"])
    try:
        with transaction.atomic():
            return Donation.objects.create(
                recurring=recurring,
                stripe_invoice_id=invoice["id"],
                person=first.person,
                page=first.page,
                interval=first.interval,
                amount=invoice.get("amount_due") or first.amount,
                currency=first.currency,
                source=first.source,
                email=first.email,
                first_name=first.first_name,
                last_name=first.last_name,
                address1=first.address1,
                postal_code=first.postal_code,
                city=first.city,
                country=first.country,
                employer=first.employer,
                occupation=first.occupation,
                attestation=first.attestation,
                language=first.language,
                election=first.election,
            )
    except IntegrityError:
        return Donation.objects.select_for_update().get(stripe_invoice_id=invoice["id"])


# --- renewals and the contribution rules -----------------------------------------------------
def renewal_breach(
    *,
    settings: DonationSettings,
    recurring: RecurringDonation,
    amount: int,
    exclude: int | None = None,
):
    """Which cap (RecurringDonation.StopReason) charging `amount` now for this recurring gift
    would pass, or None. Counts everything the donor gave (same email or person) as
    `rules_check` does: a one-time gift made since the subscription started counts too."""
    if settings.rules == Rules.NONE or not (settings.annual_limit or settings.election_limit):
        return None
    first = recurring.payments.order_by("created_at", "id").first()
    email = first.email if first else (recurring.person.email if recurring.person else "")
    given = _counted_for(email, recurring.person).exclude(pk=exclude)
    if settings.annual_limit:
        year = timezone.localdate().year
        total = given.filter(created_at__year=year).aggregate(s=Sum("amount"))["s"] or 0
        if total + amount > settings.annual_limit:
            return RecurringDonation.StopReason.ANNUAL_LIMIT
    if settings.election_limit:
        election = given
        if settings.election_starts:
            election = election.filter(created_at__date__gte=settings.election_starts)
        total = election.aggregate(s=Sum("amount"))["s"] or 0
        if total + amount > settings.election_limit:
            return RecurringDonation.StopReason.ELECTION_LIMIT
    return None


def invoice_created(*, invoice: dict[str, Any]) -> RecurringDonation | None:
    """A renewal's invoice was drafted (Stripe finalizes and charges it about an hour later):
    check it against the contribution rules before any money moves.

    Over a cap, the draft is finalized without collection and voided, so nothing is charged;
    the recurring gift is paused until 1 January (yearly cap: Stripe voids the renewals in
    between and resumes by itself) or stopped (per-election cap); the donor and the owners are
    told why. Within the rules it does nothing. Safe to run again: a voided invoice is left."""
    if invoice.get("billing_reason") != "subscription_cycle" or invoice.get("status") not in (
        "draft",
        "open",
    ):
        return None
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    recurring = (
        RecurringDonation.objects.select_for_update(of=("self",))
        .select_related("person")
        .filter(stripe_subscription_id=details.get("subscription") or "")
        .first()
    )
    if recurring is None:
        return None
    if recurring.status in (RecurringDonation.Status.CANCELED, RecurringDonation.Status.PAUSED):
        return recurring  # Stripe voids what a paused or cancelled subscription drafts
    amount = int(invoice.get("amount_due") or recurring.amount)
    breach = renewal_breach(settings=donation_settings(), recurring=recurring, amount=amount)
    if breach is None:
        return recurring
    account = connected_account(connection.tenant)
    client = _client()
    options = {"stripe_account": account.account_id}
    invoice_id = invoice["id"]
    current = client.v1.invoices.retrieve(invoice_id, options=options)
    if current.status == "draft":
        current = client.v1.invoices.finalize_invoice(
            invoice_id,
            params={"auto_advance": False},
            options={**options, "idempotency_key": f"donation-cap-finalize-{invoice_id}"},
        )
    if current.status == "open":
        client.v1.invoices.void_invoice(
            invoice_id, options={**options, "idempotency_key": f"donation-cap-void-{invoice_id}"}
        )
    elif current.status == "paid":
        return recurring  # charged already (this event came late): invoice.paid refunds it
    _renewal_stop(recurring=recurring, breach=breach, amount=amount)
    return recurring


def _renewal_stop(
    *, recurring: RecurringDonation, breach: str, amount: int, refunded: bool = False
) -> None:
    """Pause (yearly cap: until 1 January) or cancel (per-election cap) on Stripe and here,
    put it on the donor's timeline and tell the donor and the staff."""
    import stripe

    account = connected_account(connection.tenant)
    client = _client()
    options = {"stripe_account": account.account_id}
    recurring.stop_reason = breach
    if breach == RecurringDonation.StopReason.ANNUAL_LIMIT:
        resumes = date(timezone.localdate().year + 1, 1, 1)
        midnight = timezone.make_aware(datetime.combine(resumes, datetime.min.time()))
        client.v1.subscriptions.update(
            recurring.stripe_subscription_id,
            params={
                "pause_collection": {"behavior": "void", "resumes_at": int(midnight.timestamp())}
            },
            options=options,
        )
        recurring.status = RecurringDonation.Status.PAUSED
        recurring.paused_until = resumes
    else:
        with contextlib.suppress(stripe.InvalidRequestError):  # already cancelled there
            client.v1.subscriptions.cancel(recurring.stripe_subscription_id, options=options)
        recurring.status = RecurringDonation.Status.CANCELED
        recurring.canceled_at = timezone.now()
    recurring.save()
    if recurring.person_id:
        activity_record(
            person=recurring.person,
            kind=Activity.Kind.OTHER,
            summary=(
                _("Recurring gift refunded: %(reason)s")
                if refunded
                else _("Recurring gift not charged: %(reason)s")
            )
            % {"reason": recurring.get_stop_reason_display()},
            data={"recurring": recurring.pk, "reason": breach, "amount": amount},
        )
    from .notices import cap_notices_send

    cap_notices_send(recurring=recurring, amount=amount, refunded=refunded)


def subscription_apply(*, subscription: dict[str, Any]) -> RecurringDonation | None:
    recurring = (
        RecurringDonation.objects.select_for_update()
        .filter(stripe_subscription_id=subscription["id"])
        .first()
    )
    if recurring is None:
        return None
    status = subscription.get("status")
    mapped = {
        "active": RecurringDonation.Status.ACTIVE,
        "trialing": RecurringDonation.Status.ACTIVE,
        "past_due": RecurringDonation.Status.PAST_DUE,
        "unpaid": RecurringDonation.Status.PAST_DUE,
        "canceled": RecurringDonation.Status.CANCELED,
        "incomplete_expired": RecurringDonation.Status.CANCELED,
    }.get(status, RecurringDonation.Status.INCOMPLETE)
    pause = subscription.get("pause_collection")
    if mapped == RecurringDonation.Status.ACTIVE and pause:
        mapped = RecurringDonation.Status.PAUSED
        resumes = utc(pause.get("resumes_at"))
        recurring.paused_until = timezone.localdate(resumes) if resumes else None
    else:
        recurring.paused_until = None  # collection resumed (1 January) or the gift ended
    recurring.status = mapped
    recurring.cancel_at_period_end = bool(subscription.get("cancel_at_period_end"))
    if mapped == RecurringDonation.Status.CANCELED and recurring.canceled_at is None:
        recurring.canceled_at = timezone.now()
    recurring.save()
    return recurring


# --- refunds, disputes, cancellation ---------------------------------------------------------
def _renewal_by_payment_intent(payment_intent: str) -> Donation | None:
    """A recurring gift's payment learns its PaymentIntent lazily: Stripe links an invoice to
    its payment through an InvoicePayment (not in the invoice.paid payload), so we ask only
    when a refund or a dispute names an intent we do not know."""
    account = connected_account(connection.tenant)
    if account is None or not payment_intent:
        return None
    found = _client().v1.invoice_payments.list(
        params={"payment": {"type": "payment_intent", "payment_intent": payment_intent}},
        options={"stripe_account": account.account_id},
    )
    for link in found.data:
        donation = (
            Donation.objects.select_for_update().filter(stripe_invoice_id=link.invoice).first()
        )
        if donation is not None:
            if not donation.stripe_payment_intent_id:
                donation.stripe_payment_intent_id = payment_intent
                donation.save(update_fields=["stripe_payment_intent_id"])
            return donation
    return None


def _invoice_payment_intent(*, nation, donation: Donation) -> str | None:
    if donation.stripe_payment_intent_id or not donation.stripe_invoice_id:
        return donation.stripe_payment_intent_id
    account = connected_account(nation)
    found = _client().v1.invoice_payments.list(
        params={"invoice": donation.stripe_invoice_id},
        options={"stripe_account": account.account_id},
    )
    paid = [p for p in found.data if p.status == "paid" and p.payment.payment_intent]
    if not paid:
        return None
    donation.stripe_payment_intent_id = paid[0].payment.payment_intent
    donation.save(update_fields=["stripe_payment_intent_id"])
    return donation.stripe_payment_intent_id


def _donation_for_intent(payment_intent: str | None) -> Donation | None:
    donation = (
        Donation.objects.select_for_update().filter(stripe_payment_intent_id=payment_intent).first()
        if payment_intent
        else None
    )
    return donation or _renewal_by_payment_intent(payment_intent or "")


def charge_refunded(*, charge: dict[str, Any]) -> Donation | None:
    donation = _donation_for_intent(charge.get("payment_intent"))
    if donation is None:
        return None
    refunded = int(charge.get("amount_refunded") or 0)
    if refunded <= donation.refunded_amount:
        return donation  # a replay, or an older event after a newer one
    donation.refunded_amount = refunded
    if refunded >= donation.amount:
        donation.status = Donation.Status.REFUNDED
    donation.save()
    if donation.person_id:
        activity_record(
            person=donation.person,
            kind=Activity.Kind.OTHER,
            summary=_("Refunded %(amount)s") % {"amount": money(refunded, donation.currency)},
            data={"donation": donation.pk, "refunded": refunded},
        )
        person_donations_refresh(donation.person)
    return donation


def dispute_apply(*, dispute: dict[str, Any]) -> Donation | None:
    donation = _donation_for_intent(dispute.get("payment_intent"))
    if donation is None:
        return None
    state = {"won": Donation.Dispute.WON, "lost": Donation.Dispute.LOST}.get(
        dispute.get("status"), Donation.Dispute.OPEN
    )
    if donation.dispute == state:
        return donation
    donation.dispute = state
    donation.save(update_fields=["dispute"])
    if donation.person_id:
        activity_record(
            person=donation.person,
            kind=Activity.Kind.OTHER,
            summary=_("Gift disputed: %(state)s") % {"state": donation.get_dispute_display()},
            data={"donation": donation.pk, "dispute": state},
        )
        person_donations_refresh(donation.person)
    return donation


def refund_start(*, nation, donation: Donation, amount: int | None = None, actor: Actor = SYSTEM):
    """Refund a paid gift (all of it, or `amount`) on the nation's account: a one-time gift or
    one payment of a recurring gift (the recurring gift itself goes on; cancel it apart)."""
    import stripe

    if donation.status != Donation.Status.PAID:
        raise DonationRefused(_("Only a paid gift can be refunded."))
    try:
        intent = _invoice_payment_intent(nation=nation, donation=donation)
    except stripe.StripeError as error:
        raise DonationRefused(
            _("Stripe is unavailable right now. Please try again shortly.")
        ) from error
    if not intent:
        raise DonationRefused(_("Only a paid gift can be refunded."))
    left = donation.amount - donation.refunded_amount
    amount = left if amount is None else amount
    if amount <= 0 or amount > left:
        raise DonationRefused(
            _("Refund between 0.01 and %(left)s.") % {"left": money(left, donation.currency)}
        )
    account = connected_account(nation)
    try:
        _client().v1.refunds.create(
            params={"payment_intent": donation.stripe_payment_intent_id, "amount": amount},
            options={
                "stripe_account": account.account_id,
                "idempotency_key": f"donation-refund-{donation.key}-{donation.refunded_amount}-{amount}",
            },
        )
    except stripe.StripeError as error:
        raise DonationRefused(getattr(error, "user_message", None) or str(error)) from error
    charge = {
        "payment_intent": donation.stripe_payment_intent_id,
        "amount_refunded": donation.refunded_amount + amount,
    }
    return charge_refunded(charge=charge)


def recurring_cancel(
    *, nation, recurring: RecurringDonation, actor: Actor = SYSTEM
) -> RecurringDonation:
    """Stop a recurring gift now (staff, or the donor through their signed link). Idempotent."""
    if recurring.status == RecurringDonation.Status.CANCELED:
        return recurring
    import stripe

    account = connected_account(nation)
    # Already cancelled on Stripe (a 400): apply it here all the same.
    with contextlib.suppress(stripe.InvalidRequestError):
        _client().v1.subscriptions.cancel(
            recurring.stripe_subscription_id, options={"stripe_account": account.account_id}
        )
    recurring.status = RecurringDonation.Status.CANCELED
    recurring.canceled_at = timezone.now()
    recurring.save(update_fields=["status", "canceled_at"])
    if recurring.person_id:
        activity_record(
            person=recurring.person,
            kind=Activity.Kind.OTHER,
            summary=_("Recurring gift cancelled"),
            data={"recurring": recurring.pk},
            actor=actor,
        )
    return recurring


def portal_url(*, nation, recurring: RecurringDonation, return_url: str) -> str:
    """Stripe's billing portal for the donor's card, on the nation's account."""
    account = connected_account(nation)
    session = _client().v1.billing_portal.sessions.create(
        params={"customer": recurring.stripe_customer_id, "return_url": return_url},
        options={"stripe_account": account.account_id},
    )
    return session.url


# --- French tax receipts ---------------------------------------------------------------------
def tax_receipt_issue(*, person: Person, year: int) -> TaxReceipt | None:
    """Issue (once) the person's receipt for `year`, numbered from the year's counter in the
    same transaction: a receipt that is not issued does not use a number. None if no gifts."""
    with transaction.atomic():
        # Two issues for one donor queue here, so the second finds the first's receipt.
        Person.objects.select_for_update().filter(pk=person.pk).first()
        existing = TaxReceipt.objects.filter(person=person, year=year).first()
        if existing is not None:
            return existing
        gifts = list(
            Donation.objects.filter(person=person, paid_at__year=year)
            .filter(COUNTED)
            .order_by("paid_at")
        )
        gifts = [g for g in gifts if g.net > 0]
        if not gifts:
            return None
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {TaxReceiptCounter._meta.db_table} (year, last) VALUES (%s, 1) "
                "ON CONFLICT (year) DO UPDATE SET last = "
                f"{TaxReceiptCounter._meta.db_table}.last + 1 RETURNING last",
                [year],
            )
            serial = cursor.fetchone()[0]
        first = gifts[-1]
        address = ", ".join(
            p
            for p in (first.address1, f"{first.postal_code} {first.city}".strip(), first.country)
            if p
        )
        return TaxReceipt.objects.create(
            person=person,
            year=year,
            serial=serial,
            number=f"{year}-{serial:05d}",
            amount=sum(g.net for g in gifts),
            currency=gifts[0].currency,
            donor_name=f"{first.first_name} {first.last_name}".strip(),
            donor_address=address,
            gifts=[
                {
                    "date": g.paid_at.date().isoformat(),
                    "amount": g.net,
                    "kind": g.interval or "once",
                }
                for g in gifts
            ],
        )


def tax_receipt_donors(*, year: int):
    return (
        Person.objects.filter(donations__paid_at__year=year, is_erased=False)
        .distinct()
        .order_by("pk")
    )


def tax_receipts_issue_year(*, year: int, progress=None) -> int:
    """Issue the receipts of every donor of `year` who has none yet; returns how many.
    `progress(n)` (optional) is told every 100 donors looked at."""
    issued = seen = 0
    for person in tax_receipt_donors(year=year):
        seen += 1
        if progress is not None and seen % 100 == 0:
            progress(100)
        if TaxReceipt.objects.filter(person=person, year=year).exists():
            continue
        if tax_receipt_issue(person=person, year=year) is not None:
            issued += 1
    if progress is not None and seen % 100:
        progress(seen % 100)
    return issued


def tax_receipts_send_year(*, year: int) -> tuple[int, int]:
    """Email every receipt of `year` not emailed yet, each in its donor's language, to the
    donor's current address (else the one they gave with). Idempotent: a receipt is emailed
    once however often this runs, and sending never renumbers. Returns (sent, no_address)."""
    from .notices import tax_receipt_email

    sent = missing = 0
    receipts = (
        TaxReceipt.objects.filter(year=year, emailed_at__isnull=True)
        .select_related("person")
        .order_by("serial")
    )
    for receipt in receipts:
        person = receipt.person
        last = (
            Donation.objects.filter(person=person, paid_at__year=year).order_by("-paid_at").first()
            if person
            else None
        )
        email = (person.email if person and not person.is_erased else "") or (
            last.email if last else ""
        )
        if not email or (person and person.is_erased):
            missing += 1
            continue
        language = (person.language if person else "") or (last.language if last else "")
        if tax_receipt_email(receipt=receipt, language=language, email=email):
            sent += 1
    return sent, missing


def utc(ts: int | None) -> datetime | None:
    return datetime.fromtimestamp(ts, UTC) if ts else None
