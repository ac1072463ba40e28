from __future__ import annotations

from babel import Locale
from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import PasswordResetForm
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from .models import Nation, User
from .slugs import SLUG_MAX, validate_slug


def country_choices() -> list[tuple[str, str]]:
    """Every country, named in the active language (Babel's CLDR data)."""
    locale = Locale.parse(translation.get_language() or "en", sep="-")
    names = {
        code: name
        for code, name in locale.territories.items()
        if len(code) == 2 and code.isalpha() and code not in {"ZZ", "EU", "EZ", "UN", "QO"}
    }
    return [("", "—")] + sorted(names.items(), key=lambda item: item[1])


class SignupForm(forms.Form):
    name = forms.CharField(label=_("Organisation name"), max_length=120)
    slug = forms.CharField(
        label=_("Web address"),
        max_length=SLUG_MAX + 24,
        strip=False,
        help_text=_(
            "Lowercase letters, digits and hyphens. Your site will live at this subdomain."
        ),
    )
    full_name = forms.CharField(label=_("Your name"), max_length=150)
    email = forms.EmailField(label=_("Your email"))
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("At least 10 characters; not a common password."),
    )
    country = forms.ChoiceField(label=_("Country"))
    language = forms.ChoiceField(
        label=_("Language of your nation"), choices=Nation.Language.choices
    )
    plan = forms.ChoiceField(
        label=_("Plan for your free trial"),
        initial="starter",
        required=False,
        help_text=_("14 days free, no card. You can change plans at any time."),
    )

    def __init__(self, *args, user: User | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["country"].choices = country_choices()
        from billing.models import Plan

        self.fields["plan"].choices = [
            (p.code, f"{p.name} — ${p.monthly_cents // 100:,}/mo")
            for p in Plan.objects.filter(is_active=True)
        ]
        if user is not None and user.is_authenticated:
            for name in ("full_name", "email", "password"):
                del self.fields[name]

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"]
        validate_slug(slug)
        if Nation.objects.filter(slug=slug).exists():
            raise forms.ValidationError(_("This web address is already taken."), code="taken")
        return slug

    def clean_plan(self) -> str:
        return self.cleaned_data.get("plan") or "starter"

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(
                _(
                    "An account with this email already exists. Log in first to create another "
                    "nation with it."
                ),
                code="taken",
            )
        return email

    def clean(self):
        data = super().clean()
        password = data.get("password")
        if password and "password" in self.fields:
            candidate = User(email=data.get("email", ""), full_name=data.get("full_name", ""))
            try:
                password_validation.validate_password(password, candidate)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return data


class LoginForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class NationPasswordResetForm(PasswordResetForm):
    """Password reset on a nation's host reaches only that nation's staff; on the platform's
    host, any account."""

    def __init__(self, *args, nation: Nation | None = None, invitation: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.nation = nation
        self.invitation = invitation  # invited staff have no password yet: that is the point

    def get_users(self, email):
        users = User.objects.filter(email__iexact=email, is_active=True)
        if self.nation is not None:
            users = users.filter(memberships__nation=self.nation)
        return (u for u in users if self.invitation or u.has_usable_password())

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ):
        """On a nation's host the link goes through the nation's delivery pipeline, ahead of
        its blasts (rate limits, journal, its own sending service). The platform's host has no
        nation schema to queue in: Django's mail sends it there."""
        if self.nation is None:
            return super().send_mail(
                subject_template_name,
                email_template_name,
                context,
                from_email,
                to_email,
                html_email_template_name,
            )
        from django.conf import settings
        from django.template import loader

        from nations.comms.actions import transactional_send
        from nations.comms.models import Delivery

        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        transactional_send(
            to=to_email,
            subject=subject,
            text=loader.render_to_string(email_template_name, context),
            from_email=from_email or settings.DEFAULT_FROM_EMAIL,
            kind=Delivery.KIND_PASSWORD_RESET,
        )


class DomainForm(forms.Form):
    hostname = forms.CharField(
        label=_("Domain"), max_length=253, help_text=_("For example: www.my-campaign.org")
    )


class NationSettingsForm(forms.ModelForm):
    class Meta:
        model = Nation
        fields = ["name", "language", "country", "timezone", "currency"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["country"] = forms.ChoiceField(label=_("Country"), choices=country_choices())
        import zoneinfo

        zones = sorted(zoneinfo.available_timezones())
        self.fields["timezone"] = forms.ChoiceField(
            label=_("Time zone"), choices=[(z, z) for z in zones]
        )
        self.fields["currency"] = forms.ChoiceField(
            label=_("Currency"),
            choices=[(c, c) for c in ("EUR", "USD", "GBP", "CAD", "CHF", "AUD")],
        )
