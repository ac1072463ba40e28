"""Donations in the control panel: the Stripe account, reports, gifts, recurring gifts,
contribution rules, tax receipts and the CSV export. Scoped by `staff_required` (the schema
does the rest: every query here reads this nation's tables only)."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal, InvalidOperation

import stripe
from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from config.tasks import enqueue
from nations.jobs.actions import job_create
from nations.panel.access import staff_required
from nations.people.actions import Actor

from . import actions, reports
from .models import Donation, DonationSettings, RecurringDonation, Rules, TaxReceipt
from .tasks import tax_receipts_year


def _actor(request) -> Actor:
    return Actor(user_id=request.user.pk, name=request.user.get_full_name() or request.user.email)


def _absolute(request, name: str) -> str:
    return request.build_absolute_uri(reverse(name))


@staff_required("donations.view")
def overview(request):
    nation = request.tenant
    currency = (nation.currency or "USD").upper()
    by = request.GET.get("by", "week")
    if by not in reports.PERIODS:
        by = "week"
    range_error = ""
    try:
        rng = reports.parse_range(request.GET)
        series = reports.totals_over_time(by, rng)
    except reports.RangeError as error:
        range_error, rng = str(error), reports.DateRange()
        series = reports.totals_over_time(by)
    recent = Donation.objects.select_related("page", "person").exclude(status="expired")
    if rng:
        recent = rng.apply(recent.exclude(paid_at=None))
    fmt = {"day": "j M", "week": "j M", "month": "M Y"}[by]
    rows = [
        (
            formats.date_format(r["start"], fmt),
            r["total"],
            actions.money(r["total"], currency),
            r["count"],
        )
        for r in series
    ]
    chart = reports.column_chart(
        [(label, total, shown) for label, total, shown, _n in rows],
        title=_("Donations per %(period)s")
        % {"period": {"day": _("day"), "week": _("week"), "month": _("month")}[by]},
    )
    return render(
        request,
        "donations/overview.html",
        {
            "section": "donations",
            "account": actions.connected_account(nation),
            "figures": reports.headline(rng),
            "currency": currency,
            "chart": chart,
            "rows": rows,
            "by": by,
            "range": rng,
            "range_query": rng.query(),
            "range_error": range_error,
            "by_page": reports.by_page_and_source(rng),
            "top": reports.top_donors(rng=rng),
            "recent": recent[:25],
            "recurring": RecurringDonation.objects.select_related("person")[:25],
            "can_manage": "donations.manage" in request.permissions,
        },
    )


@staff_required("donations.manage")
@require_POST
def connect(request):
    try:
        url = actions.connect_start(
            nation=request.tenant,
            return_url=_absolute(request, "panel:donations_connect_return"),
            refresh_url=_absolute(request, "panel:donations_connect_return") + "?refresh=1",
        )
    except stripe.StripeError:
        messages.error(request, _("Stripe is unavailable right now. Please try again shortly."))
        return redirect("panel:donations")
    return redirect(url)


@staff_required("donations.manage")
def connect_return(request):
    try:
        actions.connect_refresh(nation=request.tenant)
    except stripe.StripeError:
        messages.error(request, _("Stripe is unavailable right now. Please try again shortly."))
    account = actions.connected_account(request.tenant)
    if account and account.charges_enabled:
        messages.success(request, _("Your Stripe account is connected: you can take donations."))
    elif account:
        messages.warning(request, _("Stripe needs more details before you can take donations."))
    return redirect("panel:donations")


@staff_required("donations.view")
def detail(request, donation_id: int):
    donation = get_object_or_404(
        Donation.objects.select_related("page", "person", "recurring"), pk=donation_id
    )
    return render(
        request,
        "donations/detail.html",
        {
            "section": "donations",
            "d": donation,
            "can_manage": "donations.manage" in request.permissions,
            "refundable": donation.status == "paid"
            and bool(donation.stripe_payment_intent_id or donation.stripe_invoice_id),
        },
    )


@staff_required("donations.manage")
@require_POST
def refund(request, donation_id: int):
    donation = get_object_or_404(Donation, pk=donation_id)
    raw = request.POST.get("amount", "").strip()
    amount = None
    if raw:
        try:
            amount = int(Decimal(raw.replace(",", ".")) * 100)
        except InvalidOperation:
            messages.error(request, _("Enter the amount as a number, like 25 or 25.50."))
            return redirect("panel:donations_detail", donation_id=donation.pk)
    try:
        with transaction.atomic():
            actions.refund_start(
                nation=request.tenant, donation=donation, amount=amount, actor=_actor(request)
            )
    except actions.DonationRefused as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Refund sent."))
    return redirect("panel:donations_detail", donation_id=donation.pk)


@staff_required("donations.manage")
@require_POST
def recurring_cancel(request, recurring_id: int):
    recurring = get_object_or_404(RecurringDonation, pk=recurring_id)
    try:
        with transaction.atomic():
            actions.recurring_cancel(
                nation=request.tenant, recurring=recurring, actor=_actor(request)
            )
    except stripe.StripeError:
        messages.error(request, _("Stripe is unavailable right now. Please try again shortly."))
    else:
        messages.success(request, _("The recurring gift is cancelled."))
    return redirect("panel:donations")


class MoneyField(forms.DecimalField):
    """Typed in units, stored in minor units."""

    def __init__(self, **kwargs):
        super().__init__(max_digits=12, decimal_places=2, min_value=0, **kwargs)

    def prepare_value(self, value):
        return Decimal(value) / 100 if isinstance(value, int) else value

    def clean(self, value):
        cleaned = super().clean(value)
        return None if cleaned is None else int(cleaned * 100)


class SettingsForm(forms.ModelForm):
    preset = forms.ChoiceField(
        label=gettext_lazy("Apply a preset"),
        choices=[("", gettext_lazy("Keep my limits"))] + list(Rules.choices),
        required=False,
        help_text=gettext_lazy("A preset replaces the limits below with the legal ones."),
    )
    annual_limit = MoneyField(
        label=gettext_lazy("Maximum per donor per calendar year"), required=False
    )
    election_limit = MoneyField(
        label=gettext_lazy("Maximum per donor per election"), required=False
    )
    itemize_threshold = MoneyField(
        label=gettext_lazy("Employer and occupation required above"), required=False
    )
    min_amount = MoneyField(label=gettext_lazy("Minimum gift"))
    max_amount = MoneyField(label=gettext_lazy("Maximum gift"))

    class Meta:
        model = DonationSettings
        fields = [
            "rules",
            "annual_limit",
            "election_limit",
            "election_name",
            "election_starts",
            "itemize_threshold",
            "min_amount",
            "max_amount",
            "cover_fees",
            "fee_percent",
            "organisation_name",
            "organisation_address",
            "organisation_id",
            "receipt_signatory",
        ]
        widgets = {"election_starts": forms.DateInput(attrs={"type": "date"})}

    def clean(self):
        data = super().clean()
        low, high = data.get("min_amount"), data.get("max_amount")
        if low is not None and low < 50:
            self.add_error("min_amount", _("Stripe takes gifts from 0.50."))
        if low is not None and high is not None and high < low:
            self.add_error("max_amount", _("The maximum must be above the minimum."))
        return data


@staff_required("donations.manage")
def settings_view(request):
    current = actions.donation_settings()
    form = SettingsForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        if form.cleaned_data.get("preset"):
            actions.rules_apply_preset(settings=saved, rules=form.cleaned_data["preset"])
        messages.success(request, _("Donation settings saved."))
        return redirect("panel:donations_settings")
    return render(request, "donations/settings.html", {"section": "donations", "form": form})


class _Echo:
    def write(self, value):
        return value


@staff_required("donations.view")
def export_csv(request):
    try:
        rng = reports.parse_range(request.GET)
    except reports.RangeError as error:
        messages.error(request, str(error))
        return redirect("panel:donations")
    writer = csv.writer(_Echo())
    header = [
        "date",
        "status",
        "amount",
        "refunded",
        "currency",
        "recurring",
        "first_name",
        "last_name",
        "email",
        "page",
        "source",
        "dispute",
        "person_id",
    ]

    def cell(value):
        text = "" if value is None else str(value)
        return "'" + text if text[:1] in ("=", "+", "-", "@") else text  # no spreadsheet formulas

    def rows():
        yield writer.writerow(header)
        gifts = (
            _in_range(Donation.objects.exclude(status__in=["pending", "expired"]), rng)
            .select_related("page")
            .order_by("created_at")
            .iterator(chunk_size=2000)
        )
        for d in gifts:
            yield writer.writerow(
                [
                    cell(v)
                    for v in (
                        (d.paid_at or d.created_at).isoformat(),
                        d.status,
                        f"{Decimal(d.amount) / 100:.2f}",
                        f"{Decimal(d.refunded_amount) / 100:.2f}",
                        d.currency,
                        d.interval or "",
                        d.first_name,
                        d.last_name,
                        d.email,
                        d.page.title if d.page else "",
                        d.source,
                        d.dispute,
                        d.person_id or "",
                    )
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    span = "-".join(d.isoformat() for d in (rng.start, rng.end) if d) or str(date.today())
    response["Content-Disposition"] = f'attachment; filename="donations-{span}.csv"'
    return response


def _in_range(gifts, rng: reports.DateRange):
    """The export's rows in the range: by payment date, or creation date for failed gifts
    (never paid), so the file matches the reports above it."""
    if not rng:
        return gifts
    from django.db.models import Q

    paid = rng.apply(gifts.exclude(paid_at=None)).values("pk")
    unpaid = rng.apply(gifts.filter(paid_at=None), "created_at").values("pk")
    return gifts.filter(Q(pk__in=paid) | Q(pk__in=unpaid))


@staff_required("donations.manage")
def tax_receipts(request):
    if request.tenant.country != "FR":
        raise Http404
    year = timezone.localdate().year - 1
    if request.method == "POST":
        try:
            year = int(request.POST.get("year", year))
        except ValueError:
            year = timezone.localdate().year - 1
        if not 2000 <= year <= timezone.localdate().year:
            messages.error(request, _("Pick a year."))
        else:
            job = job_create(
                kind="donations.tax_receipts",
                title=_("Tax receipts %(year)s: issue and email") % {"year": year},
                created_by_id=request.user.pk,
            )
            enqueue(tax_receipts_year, job.pk, year)
            return redirect("panel:jobs:detail", job.pk)
        return redirect("panel:donations_tax_receipts")
    return render(
        request,
        "donations/tax_receipts.html",
        {
            "section": "donations",
            "receipts": TaxReceipt.objects.order_by("-year", "-serial")[:200],
            "year": year,
            "years": list(range(timezone.localdate().year, timezone.localdate().year - 5, -1)),
        },
    )


@staff_required("donations.manage")
def tax_receipt_pdf(request, receipt_id: int):
    from .pdf import tax_receipt_pdf as render_pdf

    receipt = get_object_or_404(TaxReceipt, pk=receipt_id)
    body = render_pdf(receipt, actions.donation_settings(), request.tenant.name)
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="recu-fiscal-{receipt.number}.pdf"'
    return response
