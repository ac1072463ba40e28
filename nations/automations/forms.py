from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from nations.people.models import PeopleList
from nations.site.sanitise import clean_html

from .models import Automation, Step


class AutomationForm(forms.ModelForm):
    min_amount = forms.DecimalField(
        label=_("Minimum gift"),
        required=False,
        min_value=Decimal("0"),
        decimal_places=2,
        help_text=_("In your currency; leave empty for any gift."),
    )

    class Meta:
        model = Automation
        fields = [
            "name",
            "trigger",
            "trigger_tag",
            "trigger_list",
            "trigger_page",
            "trigger_days",
            "reentry",
            "exit_tag",
            "exit_on_donation",
        ]
        widgets = {"trigger": forms.RadioSelect, "reentry": forms.RadioSelect}
        help_texts = {
            "trigger_tag": _(
                "People who get this tag start (from an import, a page, a bulk tag…)."
            ),
            "trigger_days": _("People start this many days after they were added."),
            "reentry": _(
                "Birthday automations run once a year for each person, whatever this rule."
            ),
            "exit_tag": _("People leave the automation as soon as they get this tag."),
        }

    def __init__(self, *args, **kwargs):
        from nations.site.models import Page

        super().__init__(*args, **kwargs)
        self.fields["trigger_list"].queryset = PeopleList.objects.order_by("name")
        self.fields["trigger_page"].queryset = Page.objects.filter(
            kind__in=("petition", "event", "signup", "volunteer", "survey")
        ).order_by("title")
        if self.instance and self.instance.trigger_min_amount:
            self.initial["min_amount"] = Decimal(self.instance.trigger_min_amount) / 100

    def clean(self):
        data = super().clean()
        trigger = data.get("trigger")
        need = {
            "tag": ("trigger_tag", _("Choose the tag that starts this automation.")),
            "list": ("trigger_list", _("Choose the list that starts this automation.")),
            "page": ("trigger_page", _("Choose the page that starts this automation.")),
            "created": ("trigger_days", _("Say how many days after being added people start.")),
        }
        if trigger in need:
            name, message = need[trigger]
            if data.get(name) in (None, ""):
                self.add_error(name, message)
        amount = data.get("min_amount")
        data["trigger_min_amount"] = int(amount * 100) if amount else None
        return data


class StepForm(forms.Form):
    """One form for every kind of step; `config()` keeps the fields of the chosen kind."""

    kind = forms.ChoiceField(label=_("Step"), choices=Step.Kind.choices)
    days = forms.IntegerField(label=_("Days"), required=False, min_value=0, max_value=3650)
    hours = forms.IntegerField(label=_("Hours"), required=False, min_value=0, max_value=23 * 24)
    broadcaster = forms.ChoiceField(label=_("From"), required=False)
    subject = forms.CharField(label=_("Subject"), required=False, max_length=200)
    body = forms.CharField(
        label=_("Message"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_(
            'Merge fields: {{ person.first_name | default: "friend" }}, {{ person.city }}.'
        ),
    )
    sms_body = forms.CharField(
        label=_("Text message"),
        required=False,
        max_length=1600,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    tag = forms.CharField(label=_("Tag"), required=False, max_length=100)
    people_list = forms.ChoiceField(label=_("List"), required=False)
    user = forms.ChoiceField(label=_("Staff member"), required=False)
    message = forms.CharField(
        label=_("Note for them"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    test = forms.ChoiceField(
        label=_("Condition"),
        required=False,
        choices=[
            ("opened", _("Opened an email of this automation")),
            ("clicked", _("Clicked in an email of this automation")),
            ("has_tag", _("Has a tag")),
        ],
    )
    email_step = forms.ChoiceField(label=_("Which email"), required=False)
    no = forms.ChoiceField(label=_("Otherwise go to"), required=False)
    target = forms.ChoiceField(label=_("Go to"), required=False)

    def __init__(self, *args, automation: Automation, step: Step | None = None, **kwargs):
        from nations.comms.models import Broadcaster
        from tenants.models import Membership

        super().__init__(*args, **kwargs)
        self.automation = automation
        steps = [s for s in automation.steps.all() if step is None or s.pk != step.pk]
        step_choices = [(str(s.pk), f"{s.position}. {s.get_kind_display()}") for s in steps]
        self.fields["broadcaster"].choices = [
            (str(b.pk), f"{b.name} <{b.from_email}>") for b in Broadcaster.objects.order_by("pk")
        ]
        self.fields["people_list"].choices = [
            (str(pk), name)
            for pk, name in PeopleList.objects.order_by("name").values_list("pk", "name")
        ]
        from django.db import connection

        self.fields["user"].choices = [
            (str(m.user_id), m.user.get_full_name() or m.user.email)
            for m in Membership.objects.filter(nation=connection.tenant).select_related("user")
        ]
        self.fields["email_step"].choices = [
            (str(s.pk), f"{s.position}. {(s.config or {}).get('subject', '')}")
            for s in steps
            if s.kind == Step.Kind.EMAIL
        ]
        self.fields["no"].choices = [("", _("The end"))] + step_choices
        self.fields["target"].choices = step_choices
        if step is not None and not self.is_bound:
            self.initial.update(initial_for(step))

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        required = {
            "wait": [],
            "email": ["subject", "body"],
            "sms": ["sms_body"],
            "tag": ["tag"],
            "untag": ["tag"],
            "list": ["people_list"],
            "notify": ["user"],
            "branch": ["test"],
            "goto": ["target"],
        }.get(kind, [])
        for name in required:
            if not data.get(name):
                self.add_error(name, _("This field is required."))
        if kind == "wait" and not (data.get("days") or data.get("hours")):
            self.add_error("days", _("Wait at least one hour."))
        if kind == "branch" and data.get("test") == "has_tag" and not data.get("tag"):
            self.add_error("tag", _("This field is required."))
        if (
            kind == "branch"
            and data.get("test") in ("opened", "clicked")
            and not data.get("email_step")
        ):
            self.add_error("email_step", _("Add an email step before this one."))
        return data

    def config(self) -> dict:
        data = self.cleaned_data
        kind = data["kind"]
        tag = " ".join((data.get("tag") or "").split())
        if kind == "wait":
            return {"days": data.get("days") or 0, "hours": data.get("hours") or 0}
        if kind == "email":
            return {
                "subject": " ".join(data["subject"].split()),
                "body": clean_html(data["body"]),
                "broadcaster": _int(data.get("broadcaster")),
            }
        if kind == "sms":
            return {"body": data["sms_body"]}
        if kind in ("tag", "untag"):
            return {"tag": tag}
        if kind == "list":
            return {"list": _int(data["people_list"])}
        if kind == "notify":
            return {"user": _int(data["user"]), "message": data.get("message", "")}
        if kind == "branch":
            config = {"test": data["test"], "no": _int(data.get("no"))}
            if data["test"] == "has_tag":
                config["tag"] = tag
            else:
                config["step"] = _int(data.get("email_step"))
            return config
        if kind == "goto":
            return {"target": _int(data["target"])}
        return {}


def initial_for(step: Step) -> dict:
    config = step.config or {}
    initial = {"kind": step.kind, **{k: v for k, v in config.items() if v is not None}}
    if step.kind == "sms":
        initial["sms_body"] = config.get("body", "")
    if step.kind == "list":
        initial["people_list"] = config.get("list")
    if step.kind == "branch":
        initial["email_step"] = config.get("step")
    return initial


def _int(value):
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
