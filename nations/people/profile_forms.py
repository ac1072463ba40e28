"""Forms of the profile pages: a person's details, custom fields, emails, phones, notes, contact
log, consent, and the custom-field definitions. They only parse and validate; the views hand
the cleaned data to actions."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .actions import custom_value_clean
from .models import Channel, Consent, ContactLog, CustomField, Person
from .normalise import clean_email, clean_phone

LANGUAGES = [
    ("", "—"),
    ("fr", "Français"),
    ("en", "English"),
    ("es", "Español"),
    ("de", "Deutsch"),
    ("it", "Italiano"),
    ("pt", "Português"),
    ("nl", "Nederlands"),
    ("ar", "العربية"),
]
SOCIAL_NETWORKS = [
    ("x", "X / Twitter"),
    ("facebook", "Facebook"),
    ("instagram", "Instagram"),
    ("linkedin", "LinkedIn"),
    ("tiktok", "TikTok"),
    ("mastodon", "Mastodon"),
]
SUPPORT_LEVELS = [
    ("", "—"),
    ("1", _("1 — strong support")),
    ("2", _("2 — leaning for")),
    ("3", _("3 — undecided")),
    ("4", _("4 — leaning against")),
    ("5", _("5 — strongly against")),
]


class PersonForm(forms.ModelForm):
    """A person's own fields, their social handles and the nation's custom fields."""

    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGES, required=False)
    country = forms.CharField(
        label=_("Country"),
        required=False,
        max_length=60,
        help_text=_("Two letters: FR, BE, GB…"),
        widget=forms.TextInput(attrs={"maxlength": 2, "size": 2, "autocapitalize": "characters"}),
    )
    support_level = forms.TypedChoiceField(
        label=_("Support level"),
        choices=SUPPORT_LEVELS,
        required=False,
        coerce=int,
        empty_value=None,
    )

    class Meta:
        model = Person
        fields = [
            "first_name",
            "middle_name",
            "last_name",
            "address1",
            "address2",
            "postal_code",
            "city",
            "region",
            "country",
            "birthdate",
            "language",
            "employer",
            "occupation",
            "support_level",
        ]
        widgets = {
            "birthdate": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }

    def __init__(self, *args, custom_fields: list[CustomField] = (), **kwargs):
        super().__init__(*args, **kwargs)
        person: Person = self.instance
        self.custom_fields = list(custom_fields)
        for key, label in SOCIAL_NETWORKS:
            self.fields[f"social_{key}"] = forms.CharField(
                label=label, required=False, max_length=200, initial=(person.social or {}).get(key)
            )
        for field in self.custom_fields:
            initial = (person.custom or {}).get(field.slug)
            name = f"custom_{field.slug}"
            if field.kind == CustomField.Kind.CHOICE:
                choices = [("", "—"), *[(c, c) for c in field.choices or []]]
                self.fields[name] = forms.ChoiceField(
                    label=field.label, choices=choices, required=False, initial=initial
                )
            else:
                widget = {
                    CustomField.Kind.DATE: forms.DateInput(attrs={"type": "date"}),
                    CustomField.Kind.NUMBER: forms.TextInput(attrs={"inputmode": "decimal"}),
                }.get(field.kind, forms.TextInput())
                self.fields[name] = forms.CharField(
                    label=field.label, required=False, initial=initial, widget=widget
                )

    def clean_country(self) -> str:
        country = (self.cleaned_data.get("country") or "").strip().upper()
        if country and (len(country) != 2 or not country.isalpha()):
            raise ValidationError(_("Use the two-letter country code, like FR or GB."))
        return country

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for field in self.custom_fields:
            name = f"custom_{field.slug}"
            if name in self.errors:
                continue
            try:
                data[name] = custom_value_clean(field, data.get(name))
            except ValidationError as exc:
                self.add_error(name, exc)
        return data

    @property
    def social_fields(self):
        return [self[f"social_{key}"] for key, _label in SOCIAL_NETWORKS]

    @property
    def custom_bound_fields(self):
        return [self[f"custom_{f.slug}"] for f in self.custom_fields]

    @property
    def main_fields(self):
        return [self[name] for name in self.Meta.fields]

    def changes(self) -> dict[str, Any]:
        """What to pass to person_update: every field, with social and custom as whole dicts."""
        data = self.cleaned_data
        changes = {name: data.get(name) for name in self.Meta.fields}
        for name in ("first_name", "middle_name", "last_name", "address1", "address2"):
            changes[name] = " ".join((changes[name] or "").split())
        social = dict(self.instance.social or {})
        for key, _label in SOCIAL_NETWORKS:
            value = (data.get(f"social_{key}") or "").strip()
            if value:
                social[key] = value
            else:
                social.pop(key, None)
        changes["social"] = social
        custom = dict(self.instance.custom or {})
        for field in self.custom_fields:
            value = data.get(f"custom_{field.slug}")
            if value is None:
                custom.pop(field.slug, None)
            else:
                custom[field.slug] = value
        changes["custom"] = custom
        return changes

    def _post_clean(self):
        # Validation only: person_update (with its audit trail) writes, not ModelForm.save().
        pass


class NewPersonForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=100, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=100, required=False)
    email = forms.CharField(label=_("Email"), max_length=254, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)

    def __init__(self, *args, default_region: str = "FR", **kwargs):
        super().__init__(*args, **kwargs)
        self.default_region = default_region
        self.fields["email"].widget.attrs.update(type="email", autocomplete="off")
        self.fields["phone"].widget.attrs.update(type="tel", autocomplete="off")

    def clean_email(self) -> str:
        value = self.cleaned_data["email"]
        if not value.strip():
            return ""
        try:
            return clean_email(value)
        except ValidationError as exc:
            raise ValidationError(_("Enter a valid email address.")) from exc

    def clean_phone(self) -> str:
        value = self.cleaned_data["phone"]
        if not value.strip():
            return ""
        try:
            return clean_phone(value, default_region=self.default_region)[0]
        except ValidationError as exc:
            raise ValidationError(
                _("Enter a valid phone number, like 06 12 34 56 78 or +44 7700 900123.")
            ) from exc

    def clean(self):
        data = super().clean()
        if not self.errors and not any(
            data.get(k) for k in ("first_name", "last_name", "email", "phone")
        ):
            raise ValidationError(_("Give at least a name, an email or a phone number."))
        return data


class EmailForm(forms.Form):
    address = forms.CharField(label=_("Email"), max_length=254)
    make_primary = forms.BooleanField(label=_("Make primary"), required=False)

    def clean_address(self) -> str:
        try:
            return clean_email(self.cleaned_data["address"])
        except ValidationError as exc:
            raise ValidationError(_("Enter a valid email address.")) from exc


class PhoneForm(forms.Form):
    number = forms.CharField(label=_("Phone"), max_length=40)
    make_primary = forms.BooleanField(label=_("Make primary"), required=False)

    def __init__(self, *args, default_region: str = "FR", **kwargs):
        super().__init__(*args, **kwargs)
        self.default_region = default_region

    def clean_number(self) -> str:
        try:
            return clean_phone(self.cleaned_data["number"], default_region=self.default_region)[0]
        except ValidationError as exc:
            raise ValidationError(
                _("Enter a valid phone number, like 06 12 34 56 78 or +44 7700 900123.")
            ) from exc


class NoteForm(forms.Form):
    body = forms.CharField(
        label=_("Note"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )


class ContactForm(forms.Form):
    method = forms.ChoiceField(label=_("How"), choices=ContactLog.Method.choices)
    outcome = forms.ChoiceField(label=_("Outcome"), choices=ContactLog.Outcome.choices)
    notes = forms.CharField(
        label=_("Notes"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )


class ConsentForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[(Consent.GRANTED, _("Granted")), (Consent.WITHDRAWN, _("Withdrawn"))],
    )
    wording = forms.CharField(
        label=_("What the person said or was shown"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class CustomFieldForm(forms.ModelForm):
    choices_text = forms.CharField(
        label=_("Choices"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("For a choice field: one choice per line."),
    )

    class Meta:
        model = CustomField
        fields = ["label", "kind"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["choices_text"].initial = "\n".join(self.instance.choices or [])

    def clean(self):
        data = super().clean()
        choices = [c.strip() for c in (data.get("choices_text") or "").splitlines() if c.strip()]
        data["choices"] = list(dict.fromkeys(choices))
        if data.get("kind") == CustomField.Kind.CHOICE and not data["choices"]:
            self.add_error("choices_text", _("A choice field needs at least one choice."))
        if data.get("label") and (
            CustomField.objects.filter(label__iexact=data["label"].strip())
            .exclude(pk=self.instance.pk)
            .exists()
        ):
            self.add_error("label", _("There is already a field with this name."))
        return data

    def _post_clean(self):
        pass
