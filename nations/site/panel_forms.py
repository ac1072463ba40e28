"""Forms of the Website area of the control panel."""

from __future__ import annotations

import zoneinfo

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from themes.engine import THEMES

from .models import Media, Page, SiteSettings, SurveyQuestion
from .urls import RESERVED_SLUGS

COMMON = [
    "title",
    "slug",
    "intro",
    "body",
    "seo_title",
    "seo_description",
    "social_image",
    "show_in_menu",
]
FORM_FIELDS = [
    "tags",
    "consent_wording",
    "ask_phone",
    "ask_address",
    "thanks_message",
    "autoresponse_subject",
    "autoresponse_body",
]
BY_KIND = {
    "basic": [],
    "blog": [],
    "post": ["blog", "topics", "publish_at"],
    "petition": ["target", "goal", "show_signers", *FORM_FIELDS],
    "event": [
        "starts_at",
        "ends_at",
        "event_timezone",
        "venue",
        "address",
        "map_url",
        "capacity",
        "max_guests",
        "cancelled",
        *FORM_FIELDS,
    ],
    "signup": FORM_FIELDS,
    "volunteer": ["skills", "availability", *FORM_FIELDS],
    "survey": FORM_FIELDS,  # questions: the question builder beside the form
    "donation": ["amounts", "goal"],
}
LIST_FIELDS = ("tags", "topics", "skills", "availability", "amounts")


class PageForm(forms.ModelForm):
    class Meta:
        model = Page
        fields = sorted({f for fields in BY_KIND.values() for f in fields} | set(COMMON))
        widgets = {
            "body": forms.Textarea(attrs={"rows": 14, "data-editor": "1"}),
            "autoresponse_body": forms.Textarea(attrs={"rows": 6}),
            "starts_at": forms.DateTimeInput(
                attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
            ),
            "ends_at": forms.DateTimeInput(
                attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
            ),
            "publish_at": forms.DateTimeInput(
                attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
            ),
        }

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        keep = set(COMMON) | set(BY_KIND.get(kind, []))
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]
        for name in LIST_FIELDS:
            if name in self.fields:
                self.fields[name] = forms.CharField(
                    label=self.fields[name].label,
                    required=False,
                    widget=forms.Textarea(attrs={"rows": 3}),
                    help_text=_("One per line."),
                )
                self.initial[name] = "\n".join(
                    str(v) for v in (self.instance and getattr(self.instance, name) or [])
                )
        if "social_image" in self.fields:
            self.fields["social_image"].queryset = Media.objects.all()
            self.fields["social_image"].label = _("Image (page and social shares)")
        if "blog" in self.fields:
            self.fields["blog"].queryset = Page.objects.filter(kind=Page.Kind.BLOG)
        if "autoresponse_body" in self.fields:
            self.fields["autoresponse_body"].help_text = _(
                "Leave empty for the standard message. Merge fields: {{ first_name }}, "
                "{{ last_name }}, {{ page_title }}, {{ page_url }}, {{ share_url }}, "
                "{{ event_when }}, {{ event_place }}."
            )
        if "consent_wording" in self.fields:
            self.fields["consent_wording"].help_text = _(
                "The text next to the opt-in box; it is stored with each consent. Empty: "
                "“Keep me informed by email about …”."
            )
        if "tags" in self.fields:
            self.fields["tags"].help_text = _(
                "Everyone who submits the form gets these tags. One per line."
            )
        if "event_timezone" in self.fields:
            self.fields["event_timezone"].help_text = _(
                "e.g. Europe/Paris. Empty: the site's time zone."
            )
        self.fields["slug"].help_text = _("The page's address: /address/")
        self.fields["body"].help_text = ""
        # The editor's image dialog lists and uploads images there (views_panel.media_editor).
        self.fields["body"].widget.attrs["data-media"] = reverse("panel:website:media_editor")
        order = [
            *COMMON[:4],
            *BY_KIND.get(kind, []),
            "social_image",
            "seo_title",
            "seo_description",
            "show_in_menu",
        ]
        self.order_fields([name for name in order if name in self.fields])

    def clean_slug(self):
        slug = self.cleaned_data["slug"]
        if slug in RESERVED_SLUGS:
            raise ValidationError(_("This address is reserved. Choose another one."))
        return slug

    def clean_event_timezone(self):
        value = self.cleaned_data.get("event_timezone", "").strip()
        if value:
            try:
                zoneinfo.ZoneInfo(value)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise ValidationError(_("Unknown time zone.")) from None
        return value

    def clean_amounts(self):
        amounts = []
        for line in self.cleaned_data.get("amounts", "").split():
            try:
                amounts.append(int(line))
            except ValueError:
                raise ValidationError(_("Amounts are whole numbers, one per line.")) from None
        return amounts

    def clean(self):
        data = super().clean()
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] < data["starts_at"]:
            self.add_error("ends_at", _("The end is before the start."))
        return data


class QuestionForm(forms.Form):
    """One question of the survey builder. `prefix` keeps each question's fields apart on the
    page (ids and labels stay unique)."""

    label = forms.CharField(label=gettext_lazy("Question"), max_length=300)
    kind = forms.ChoiceField(label=gettext_lazy("Type"), choices=SurveyQuestion.Kind.choices)
    choices = forms.CharField(
        label=gettext_lazy("Options"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("One option per line."),
    )
    required = forms.BooleanField(label=gettext_lazy("Required"), required=False)

    def __init__(self, *args, page: Page, question: SurveyQuestion | None = None, **kwargs):
        if question is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "label": question.label,
                "kind": question.kind,
                "choices": "\n".join(question.choices),
                "required": question.required,
            }
        super().__init__(*args, **kwargs)
        self.page = page
        self.question = question

    def clean_label(self):
        label = " ".join(self.cleaned_data["label"].split())
        others = self.page.survey_questions.all()
        if self.question is not None:
            others = others.exclude(pk=self.question.pk)
        # Answers are stored under the wording: two questions alike would mix their answers.
        if label and any(q.label.casefold() == label.casefold() for q in others):
            raise ValidationError(_("Another question of this survey already says this."))
        return label

    def clean_choices(self):
        lines = [" ".join(c.split())[:200] for c in self.cleaned_data["choices"].splitlines()]
        return list(dict.fromkeys(c for c in lines if c))

    def clean(self):
        data = super().clean()
        if data.get("kind") in SurveyQuestion.CHOICE_KINDS and len(data.get("choices") or []) < 2:
            self.add_error("choices", _("A choice question needs at least two options."))
        return data


class NewPageForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Type"), choices=Page.Kind.choices)
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)


class MediaForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Image"), help_text=gettext_lazy("PNG, JPEG, GIF or WebP, up to 10 MB.")
    )
    alt = forms.CharField(
        label=gettext_lazy("Alternative text"),
        max_length=300,
        help_text=gettext_lazy("What the image shows, for people who cannot see it."),
    )


FONT_CHOICES = [
    ("system", gettext_lazy("System (fast, neutral)")),
    ("humanist", gettext_lazy("Humanist sans")),
    ("serif", gettext_lazy("Serif")),
    ("rounded", gettext_lazy("Rounded")),
    ("condensed", gettext_lazy("Condensed")),
]


class ThemeForm(forms.ModelForm):
    theme = forms.ChoiceField(label=gettext_lazy("Theme"), widget=forms.RadioSelect)
    font = forms.ChoiceField(label=gettext_lazy("Font"), choices=FONT_CHOICES)

    class Meta:
        model = SiteSettings
        fields = ["theme", "logo", "primary_colour", "accent_colour", "font"]
        widgets = {
            "primary_colour": forms.TextInput(attrs={"type": "color"}),
            "accent_colour": forms.TextInput(attrs={"type": "color"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["theme"].choices = [
            (t.slug, f"{t.name} — {t.description}") for t in THEMES.values()
        ]
        self.fields["logo"].queryset = Media.objects.all()

    def _colour(self, name):
        value = self.cleaned_data[name]
        import re

        if not re.fullmatch(r"#[0-9a-fA-F]{6}", value or ""):
            raise ValidationError(_("Pick a colour (#rrggbb)."))
        return value.lower()

    def clean_primary_colour(self):
        return self._colour("primary_colour")

    def clean_accent_colour(self):
        return self._colour("accent_colour")


class SiteSettingsForm(forms.ModelForm):
    redirects = forms.CharField(
        label=gettext_lazy("Redirects"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("One per line: /old-address/ -> /new-address/"),
    )

    class Meta:
        model = SiteSettings
        fields = [
            "title",
            "tagline",
            "language",
            "time_zone",
            "home_page",
            "favicon",
            "social_image",
            "analytics",
            "analytics_id",
            "analytics_host",
            "not_found_text",
            "allow_indexing",
            "robots_extra",
        ]
        widgets = {
            "language": forms.Select(
                choices=[("fr", gettext_lazy("French")), ("en", gettext_lazy("English"))]
            ),
            "not_found_text": forms.Textarea(attrs={"rows": 2}),
            "robots_extra": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["home_page"].queryset = Page.objects.exclude(kind=Page.Kind.POST)
        self.fields["favicon"].queryset = Media.objects.all()
        self.fields["social_image"].queryset = Media.objects.all()
        self.fields["analytics_id"].help_text = _(
            "Plausible: your domain (example.org). Google Analytics: G-XXXXXXX. Matomo: the site number."
        )
        self.fields["analytics_host"].help_text = _(
            "Matomo only: your Matomo server, e.g. stats.example.org"
        )

    def clean_time_zone(self):
        value = self.cleaned_data.get("time_zone", "").strip()
        if value:
            try:
                zoneinfo.ZoneInfo(value)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise ValidationError(_("Unknown time zone.")) from None
        return value

    def clean_redirects(self):
        pairs = []
        for number, line in enumerate(self.cleaned_data.get("redirects", "").splitlines(), start=1):
            if not line.strip():
                continue
            old, sep, new = line.partition("->")
            old, new = old.strip(), new.strip()
            if (
                not sep
                or not old.startswith("/")
                or not (new.startswith("/") or new.startswith("https://"))
            ):
                raise ValidationError(
                    _("Line %(n)s: write /old-address/ -> /new-address/") % {"n": number}
                )
            pairs.append((old[:300], new[:300]))
        return pairs

    def clean(self):
        data = super().clean()
        kind, site_id = data.get("analytics"), data.get("analytics_id", "")
        if kind and not site_id:
            self.add_error("analytics_id", _("Enter the site id given by your analytics provider."))
        return data
