"""The donation page's form and figures, handed to the theme by nations/site/public.py."""

from __future__ import annotations

import hashlib
import time
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import Sum
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from markupsafe import Markup

from .actions import Gift, connected_account, donation_settings, fee_for, money, parse_amount
from .models import COUNTED, CURRENCIES, Donation, DonationSettings, Rules

DEFAULT_AMOUNTS = [10, 25, 50, 100]


class DonateForm(forms.Form):
    amount = forms.CharField(required=False, widget=forms.HiddenInput)  # a suggested amount
    other_amount = forms.CharField(
        label=gettext_lazy("Other amount"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    frequency = forms.ChoiceField(
        label=gettext_lazy("How often"),
        choices=[
            ("", gettext_lazy("Once")),
            ("month", gettext_lazy("Monthly")),
            ("year", gettext_lazy("Yearly")),
        ],
        required=False,
        widget=forms.RadioSelect,
        initial="",
    )
    first_name = forms.CharField(label=gettext_lazy("First name"), max_length=100)
    last_name = forms.CharField(label=gettext_lazy("Last name"), max_length=100)
    email = forms.EmailField(label=gettext_lazy("Email"), max_length=254)
    address1 = forms.CharField(label=gettext_lazy("Address"), max_length=200, required=False)
    postal_code = forms.CharField(label=gettext_lazy("Postal code"), max_length=20, required=False)
    city = forms.CharField(label=gettext_lazy("City"), max_length=100, required=False)
    employer = forms.CharField(label=gettext_lazy("Employer"), max_length=200, required=False)
    occupation = forms.CharField(label=gettext_lazy("Occupation"), max_length=200, required=False)
    natural_person = forms.BooleanField(
        label=gettext_lazy("I am giving as an individual, from my own funds."), required=False
    )
    attestation = forms.BooleanField(
        label=gettext_lazy("I certify that I am of French nationality or live in France."),
        required=False,
    )
    cover_fees = forms.BooleanField(required=False)
    nonce = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)
    source = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(self, *args, settings: DonationSettings, currency: str, country: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.settings, self.currency = settings, currency
        french = settings.rules in (Rules.FR_PARTY, Rules.FR_CANDIDATE)
        if not (french or country == "FR"):
            for name in ("address1", "postal_code", "city"):
                self.fields[name].required = False
        else:
            for name in ("address1", "postal_code", "city"):
                self.fields[name].required = True  # a tax receipt needs the donor's address
        if settings.rules != Rules.US_FEDERAL:
            del self.fields["employer"], self.fields["occupation"]
        if not settings.natural_persons_only:
            del self.fields["natural_person"]
        if not settings.requires_attestation:
            del self.fields["attestation"]
        if not settings.cover_fees:
            del self.fields["cover_fees"]
        else:
            self.fields["cover_fees"].label = _("Add %(pct)s%% to cover the payment fees.") % {
                "pct": f"{Decimal(str(settings.fee_percent)).normalize():f}"
            }

    def clean(self):
        data = super().clean()
        raw = (data.get("other_amount") or "").strip() or (data.get("amount") or "").strip()
        try:
            amount = parse_amount(raw, settings=self.settings, currency=self.currency)
        except Exception as error:  # DonationRefused: shown next to the amount
            self.add_error("other_amount", str(error))
            return data
        fee = fee_for(amount, self.settings) if data.get("cover_fees") else 0
        data["cents"], data["fee"] = amount + fee, fee
        return data

    def gift(self) -> Gift:
        d = self.cleaned_data
        return Gift(
            amount=d["cents"],
            fee_covered=d["fee"],
            interval=d.get("frequency") or "",
            email=d["email"],
            first_name=d["first_name"],
            last_name=d["last_name"],
            address1=d.get("address1", ""),
            postal_code=d.get("postal_code", ""),
            city=d.get("city", ""),
            employer=d.get("employer", ""),
            occupation=d.get("occupation", ""),
            natural_person=bool(d.get("natural_person")),
            attestation=bool(d.get("attestation")),
            source=d.get("source", ""),
        )

    def intent_key(self, page_id: int) -> str:
        """One per form load (site.js fills the nonce) — or, without JavaScript, per donor,
        amount and half hour, so a double click still makes one gift."""
        d = self.cleaned_data
        base = d.get("nonce") or f"nojs:{int(time.time() // 1800)}"
        raw = f"{page_id}|{base}|{d['email'].lower()}"
        return hashlib.sha256(raw.encode()).hexdigest()


def suggested(page) -> list[int]:
    amounts = [a for a in (page.amounts or []) if isinstance(a, int) and a > 0]
    return amounts or DEFAULT_AMOUNTS


def raised(page) -> int:
    return Donation.objects.filter(page=page).filter(COUNTED).aggregate(s=Sum("amount"))["s"] or 0


def donation_context(request, page, form: DonateForm | None = None) -> dict[str, Any]:
    """What the theme gets for a donation page: `donate` (the form's HTML) and `counter`."""
    nation = request.tenant
    currency = (nation.currency or "USD").upper()
    settings = donation_settings()
    account = connected_account(nation)
    ready = account is not None and account.charges_enabled and currency in CURRENCIES
    if form is None:
        form = DonateForm(
            settings=settings,
            currency=currency,
            country=nation.country,
            initial={"source": request.GET.get("source", "")[:64], "frequency": ""},
        )
    amounts = suggested(page)
    picked = (
        form.data.get("amount") if form.is_bound else str(amounts[1 if len(amounts) > 1 else 0])
    )
    data: dict[str, Any] = {
        "page": {"amounts": [money(a * 100, currency) for a in amounts]},
        "donate": Markup(  # noqa: S704 - rendered by Django's autoescaping template
            render_to_string(
                "donations/_donate_form.html",
                {
                    "form": form,
                    "ready": ready,
                    "amounts": [(str(a), money(a * 100, currency)) for a in amounts],
                    "picked": picked,
                    "action": f"/{page.slug}/donate/",
                    "currency": currency,
                    "settings": settings,
                    "rules_note": _rules_note(settings, currency),
                },
            )
        ),
    }
    if page.goal:
        total = raised(page)
        goal = page.goal * 100
        data["counter"] = {
            "count": money(total, currency),
            "goal": money(goal, currency),
            "percent": min(100, round(total * 100 / goal)) if goal else 0,
            "label": _("raised"),
            "url": "",
        }
    return data


def _rules_note(settings: DonationSettings, currency: str) -> str:
    if settings.rules == Rules.FR_PARTY and settings.annual_limit:
        return _(
            "French law: gifts from individuals only, at most %(limit)s per person per year "
            "to all parties. 66%% of your gift is deductible from your income tax."
        ) % {"limit": money(settings.annual_limit, currency)}
    if settings.rules == Rules.FR_CANDIDATE and settings.election_limit:
        return _(
            "French law: gifts from individuals only, at most %(limit)s per person for this "
            "election."
        ) % {"limit": money(settings.election_limit, currency)}
    if settings.rules == Rules.US_FEDERAL:
        return _(
            "Contributions are not tax deductible. Federal law requires us to collect the "
            "employer and occupation of donors whose gifts exceed %(amount)s."
        ) % {"amount": money(settings.itemize_threshold or 20000, currency)}
    return ""
