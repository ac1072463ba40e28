from __future__ import annotations

from datetime import datetime
from pathlib import Path

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from nations.panel.fields import NationDateTimeField
from nations.people.models import PeopleList, Segment

from .audio import duration_label
from .models import Blast, Broadcaster, SendingBackend, TwilioAccount


class BroadcasterForm(forms.ModelForm):
    class Meta:
        model = Broadcaster
        fields = ["name", "from_email", "reply_to", "postal_address"]
        widgets = {"postal_address": forms.Textarea(attrs={"rows": 3})}

    def clean_name(self):
        return " ".join(self.cleaned_data["name"].split())


class BlastForm(forms.ModelForm):
    class Meta:
        model = Blast
        fields = [
            "broadcaster",
            "subject",
            "preheader",
            "body_html",
            "audience",
            "segment",
            "people_list",
            "name",
            "subject_b",
            "ab_percent",
            "ab_wait_hours",
            "ab_metric",
        ]
        widgets = {
            "body_html": forms.Textarea(attrs={"rows": 14, "data-editor": "1"}),
            "audience": forms.RadioSelect,
        }
        labels = {"segment": _("Segment"), "people_list": _("List")}
        help_texts = {
            "subject_b": _("Leave empty for no A/B test."),
            "ab_percent": _(
                "Each subject goes to this share of the audience; the rest gets the winner."
            ),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["broadcaster"].required = True
        self.fields["broadcaster"].empty_label = None
        self.fields["segment"].queryset = Segment.objects.order_by("name")
        self.fields["people_list"].queryset = PeopleList.objects.order_by("name")
        self.fields["body_html"].help_text = _(
            'Merge fields: {{ person.first_name | default: "friend" }}, {{ person.last_name }}, '
            "{{ person.city }}. Links are tracked; an unsubscribe link is added at the bottom."
        )
        self.fields["subject"].widget.attrs["maxlength"] = 200
        self.fields["ab_percent"] = forms.TypedChoiceField(
            label=_("Test group size"),
            coerce=int,
            choices=[(p, _("%(p)s %% + %(p)s %%") % {"p": p}) for p in (5, 10, 20, 25)],
            initial=10,
            help_text=self.Meta.help_texts["ab_percent"],
        )
        self.fields["ab_wait_hours"] = forms.TypedChoiceField(
            label=_("Pick the winner after"),
            coerce=int,
            choices=[
                (h, ngettext("%(n)s hour", "%(n)s hours", h) % {"n": h}) for h in (1, 2, 4, 8, 24)
            ],
            initial=4,
        )

        self.fields["ab_metric"].required = False
        for name in ("ab_percent", "ab_wait_hours"):
            self.fields[name].required = False

    def clean_ab_percent(self):
        return self.cleaned_data.get("ab_percent") or 10

    def clean_ab_wait_hours(self):
        return self.cleaned_data.get("ab_wait_hours") or 4

    def clean_ab_metric(self):
        return self.cleaned_data.get("ab_metric") or "opens"

    def clean_subject_b(self):
        return " ".join(self.cleaned_data["subject_b"].split())

    def clean_subject(self):
        return " ".join(self.cleaned_data["subject"].split())

    def clean(self):
        data = super().clean()
        if data.get("audience") == Blast.Audience.SEGMENT and not data.get("segment"):
            self.add_error("segment", _("Pick a segment."))
        if data.get("audience") == Blast.Audience.LIST and not data.get("people_list"):
            self.add_error("people_list", _("Pick a list."))
        return data


class TestSendForm(forms.Form):
    email = forms.EmailField(label=_("Send a test to"))


class ScheduleForm(forms.Form):
    at = NationDateTimeField(label=_("Send at"))

    def __init__(self, *args, nation, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["at"].set_nation(nation)

    def clean_at(self):
        value: datetime = self.cleaned_data["at"]
        if value <= timezone.now():
            raise forms.ValidationError(_("Pick a time in the future."))
        return value


class SendingBackendForm(forms.ModelForm):
    """Secrets are never shown back: an empty field keeps the stored one."""

    class Meta:
        model = SendingBackend
        fields = [
            "kind",
            "smtp_host",
            "smtp_port",
            "smtp_security",
            "smtp_username",
            "smtp_password",
            "esp",
            "esp_api_key",
            "esp_sender_domain",
        ]
        widgets = {
            "kind": forms.RadioSelect,
            "smtp_password": forms.PasswordInput(render_value=False),
            "esp_api_key": forms.PasswordInput(render_value=False),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["smtp_port"].required = False
        self.fields["smtp_security"].required = False
        for name in ("smtp_password", "esp_api_key"):
            self.fields[name].required = False
            if self.instance and getattr(self.instance, name):
                self.fields[name].help_text = _("Stored (encrypted). Leave empty to keep it.")

    def clean_smtp_port(self):
        return self.cleaned_data.get("smtp_port") or 587

    def clean_smtp_security(self):
        return self.cleaned_data.get("smtp_security") or "starttls"


# --- SMS and voice -------------------------------------------------------------------------------
class PhoneBlastForm(forms.ModelForm):
    """An SMS or voice blast: the text (merge fields), the sender, the audience; for voice an
    audio file (or the text read aloud) and the number "press 1" reaches."""

    class Meta:
        model = Blast
        fields = [
            "name",
            "sender",
            "text",
            "audio",
            "forward_to",
            "audience",
            "segment",
            "people_list",
        ]
        widgets = {
            "text": forms.Textarea(attrs={"rows": 6}),
            "audience": forms.RadioSelect,
        }
        labels = {"segment": _("Segment"), "people_list": _("List"), "name": _("Internal name")}

    def __init__(self, *args, channel: str, senders: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.channel = channel
        self.fields["name"].required = True
        self.fields["sender"] = forms.ChoiceField(
            label=_("From"), choices=[(s, s) for s in senders], required=bool(senders)
        )
        self.fields["segment"].queryset = Segment.objects.order_by("name")
        self.fields["people_list"].queryset = PeopleList.objects.order_by("name")
        self.fields["audience"].choices = [
            (Blast.Audience.SEGMENT, _("A segment")),
            (Blast.Audience.LIST, _("A list")),
            (Blast.Audience.EVERYONE, _("Everyone with consent")),
        ]
        if channel == "sms":
            del self.fields["audio"], self.fields["forward_to"]
            self.fields["text"].required = True
            self.fields["text"].help_text = _(
                'Merge fields: {{ person.first_name | default: "ami" }}, {{ person.city }}. '
                "Only people with SMS consent and a mobile number get it; a STOP reply unsubscribes."
            )
        else:
            self.fields["text"].label = _("Text read aloud (if no audio file)")
            self.fields["text"].help_text = _(
                "Read by text-to-speech in your nation's language when no audio file is given."
            )
            self.record_max_seconds = settings.COMMS_VOICE_AUDIO_MAX_SECONDS
            self.record_max_label = duration_label(self.record_max_seconds)
            # The editor shows the saved message as a player with its own "remove" box
            # (comms/_recorder.html): the default "Currently: <link>" points at nothing.
            self.fields["audio"].widget.template_name = "django/forms/widgets/file.html"
            self.fields["audio"].label = _("Upload an audio file")
            self.fields["audio"].help_text = _(
                "MP3 or WAV, 5 MB at most; a WAV message lasts %(limit)s at most."
            ) % {"limit": duration_label(settings.COMMS_VOICE_AUDIO_MAX_SECONDS)}
            self.fields["forward_to"].help_text = _(
                "Who answers when someone presses 1 (leave empty to use the number in the SMS settings)."
            )

    def clean_audio(self):
        from .actions import BlastError
        from .phone import audio_check

        upload = self.cleaned_data.get("audio")
        if upload and hasattr(upload, "content_type"):
            try:
                info = audio_check(upload)
            except BlastError as error:
                raise forms.ValidationError(str(error)) from error
            # The stored name's extension is what the call's <Play> URL announces as the type.
            stem = Path(upload.name).stem or "message"
            upload.name = f"{stem}.{info.kind}"
        return upload

    def clean_forward_to(self):
        from .telephony import callable_number

        value = self.cleaned_data.get("forward_to", "").strip()
        if not value:
            return ""
        number, _why = callable_number(value)
        if not number:
            raise forms.ValidationError(_("Enter a valid phone number, e.g. +33 6 12 34 56 78."))
        return number

    def clean(self):
        data = super().clean()
        if data.get("audience") == Blast.Audience.SEGMENT and not data.get("segment"):
            self.add_error("segment", _("Pick a segment."))
        if data.get("audience") == Blast.Audience.LIST and not data.get("people_list"):
            self.add_error("people_list", _("Pick a list."))
        if self.channel == "voice" and not (data.get("audio") or data.get("text", "").strip()):
            self.add_error(
                "text", _("Record or upload an audio message, or write the text to be read.")
            )
        return data


class TwilioAccountForm(forms.Form):
    mode = forms.ChoiceField(
        label=_("Account"), choices=TwilioAccount.Mode.choices, widget=forms.RadioSelect
    )
    account_sid = forms.CharField(label=_("Account SID"), required=False, max_length=40)
    auth_token = forms.CharField(
        label=_("Auth token"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Stored encrypted. Leave empty to keep the saved one."),
    )
    senders = forms.CharField(
        label=_("Senders"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "One a line: your Twilio numbers (+33 7 00 00 00 01) or an alphanumeric sender id "
            "(up to 11 letters and digits, e.g. MaCampagne; texts only, no replies)."
        ),
    )
    quiet_start = forms.TimeField(
        label=_("Quiet hours from"), widget=forms.TimeInput(attrs={"type": "time"})
    )
    quiet_end = forms.TimeField(label=_("to"), widget=forms.TimeInput(attrs={"type": "time"}))
    forward_to = forms.CharField(
        label=_("Staff number for “press 1”"), required=False, max_length=20
    )

    def clean_senders(self):
        from .telephony import TelephonyError, clean_sender

        lines = [line.strip() for line in self.cleaned_data["senders"].splitlines() if line.strip()]
        try:
            return [clean_sender(line) for line in lines]
        except TelephonyError as error:
            raise forms.ValidationError(str(error)) from error
