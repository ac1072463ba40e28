"""The visitor's form on a page, built from the page's settings.

No Django CSRF cookie here: pages are cached for everyone and embedded on other sites, where a
per-visitor cookie cannot be. Instead the form carries a signed token naming the page and the
consent wording shown (so the wording recorded is exactly the one displayed, and a form for one
page cannot be replayed on another), the view checks that a browser's Origin is this host, and a
per-load idempotency key (set by a one-line script) makes a double click one submission."""

from __future__ import annotations

from django import forms
from django.core import signing
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from nations.people.normalise import clean_phone

from .models import Page, SurveyQuestion

TOKEN_SALT = "site.form"
TOKEN_MAX_AGE = 7 * 24 * 3600  # a cached page's form stays valid for a week


def consent_wording(page: Page, nation_name: str) -> str:
    return page.consent_wording or _("Keep me informed by email about %(nation)s's campaigns.") % {
        "nation": nation_name
    }


def form_token(page: Page, wording: str) -> str:
    return signing.dumps({"p": page.pk, "w": wording}, salt=TOKEN_SALT, compress=True)


def read_token(value: str, page: Page) -> str | None:
    """The consent wording the form showed, or None if the token is not this page's."""
    try:
        data = signing.loads(value or "", salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
    except signing.BadSignature:
        return None
    return data.get("w", "") if data.get("p") == page.pk else None


class PublicForm(forms.Form):
    """Its fields are made for each form (they depend on the page) rather than declared: Django
    deep-copies declared fields for every instance, which was ~10 % of a signature's CPU."""

    def __init__(self, *args, page: Page, wording: str, country: str = "FR", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.update(
            first_name=forms.CharField(label=gettext_lazy("First name"), max_length=100),
            last_name=forms.CharField(
                label=gettext_lazy("Last name"), max_length=100, required=False
            ),
            email=forms.EmailField(label=gettext_lazy("Email"), max_length=254),
            # Hidden plumbing
            form_token=forms.CharField(widget=forms.HiddenInput, required=False),
            nonce=forms.CharField(widget=forms.HiddenInput, required=False, max_length=64),
            recruiter=forms.CharField(widget=forms.HiddenInput, required=False, max_length=16),
            embed=forms.CharField(widget=forms.HiddenInput, required=False, max_length=1),
            # The honeypot: hidden from people (CSS + aria-hidden), filled in by naive bots.
            website=forms.CharField(required=False, max_length=200, label="Website"),
        )
        self.page = page
        self.country = country
        kind = page.kind
        if kind == Page.Kind.PETITION:
            self.fields["last_name"].required = True
        if page.ask_phone:
            self.fields["phone"] = forms.CharField(
                label=_("Mobile phone"), max_length=30, required=False
            )
        if page.ask_address or kind == Page.Kind.PETITION:
            self.fields["city"] = forms.CharField(label=_("City"), max_length=100, required=False)
            self.fields["postal_code"] = forms.CharField(
                label=_("Postal code"), max_length=20, required=False
            )
        if kind == Page.Kind.EVENT:
            self.fields["guests"] = forms.TypedChoiceField(
                label=_("Guests coming with you"),
                choices=[(i, str(i)) for i in range(page.max_guests + 1)],
                coerce=int,
                initial=0,
                required=False,
                empty_value=0,
            )
        if kind == Page.Kind.VOLUNTEER:
            if page.skills:
                self.fields["skills"] = forms.MultipleChoiceField(
                    label=_("How can you help?"),
                    choices=[(s, s) for s in page.skills],
                    widget=forms.CheckboxSelectMultiple,
                    required=False,
                )
            if page.availability:
                self.fields["availability"] = forms.MultipleChoiceField(
                    label=_("When are you available?"),
                    choices=[(s, s) for s in page.availability],
                    widget=forms.CheckboxSelectMultiple,
                    required=False,
                )
            self.fields["message"] = forms.CharField(
                label=_("Anything else we should know?"),
                widget=forms.Textarea(attrs={"rows": 3}),
                max_length=2000,
                required=False,
            )
        if kind == Page.Kind.SURVEY:
            for question in page.survey_questions.all():
                self.fields[f"q_{question.pk}"] = question_field(question)
        self.fields["consent"] = forms.BooleanField(label=wording, required=False)
        if kind == Page.Kind.PETITION and page.show_signers:
            self.fields["public"] = forms.BooleanField(
                label=_("Show my first name and city in the list of signers"), required=False
            )
        # Put the honeypot last so it is never the first field a keyboard user meets.
        self.fields["website"] = self.fields.pop("website")

    def clean_phone(self):
        value = self.cleaned_data.get("phone", "").strip()
        if not value:
            return ""
        try:
            return clean_phone(value, default_region=self.country)[0]
        except ValidationError:
            raise ValidationError(
                _("Enter a valid phone number, e.g. +33 6 12 34 56 78.")
            ) from None

    def answers(self) -> dict:
        data = self.cleaned_data
        answers = {}
        if self.page.kind == Page.Kind.SURVEY:
            for question in self.page.survey_questions.all():
                value = data.get(f"q_{question.pk}")
                if value not in (None, "", []):
                    answers[question.label] = value
        for name in ("skills", "availability", "message"):
            if data.get(name):
                answers[str(self.fields[name].label)] = data[name]
        return answers

    def visible_fields(self):
        return [f for f in super().visible_fields() if f.name != "website"]


def question_field(question: SurveyQuestion) -> forms.Field:
    label = question.label[:300]
    required = question.required
    choices = [(c, c) for c in question.choices or []]
    kind = question.kind
    if kind == "long":
        return forms.CharField(
            label=label,
            required=required,
            max_length=5000,
            widget=forms.Textarea(attrs={"rows": 4}),
        )
    if kind == "single":
        return forms.ChoiceField(
            label=label, required=required, choices=choices, widget=forms.RadioSelect
        )
    if kind == "multiple":
        return forms.MultipleChoiceField(
            label=label, required=required, choices=choices, widget=forms.CheckboxSelectMultiple
        )
    return forms.CharField(label=label, required=required, max_length=500)
