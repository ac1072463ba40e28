from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nations.panel.fields import NationDateTimeField

from .actions import PostTooLong, check_length
from .models import AutoPostSettings, SocialAccount


class XConnectForm(forms.Form):
    access_token = forms.CharField(label=_("Access token"), max_length=200)
    access_secret = forms.CharField(
        label=_("Access token secret"), max_length=200, widget=forms.PasswordInput
    )


class MastodonConnectForm(forms.Form):
    instance_url = forms.CharField(
        label=_("Server address"),
        max_length=200,
        widget=forms.URLInput(attrs={"placeholder": "https://mastodon.social"}),
    )
    access_token = forms.CharField(
        label=_("Access token"),
        max_length=200,
        widget=forms.PasswordInput,
        help_text=_(
            "On your server: Preferences → Development → New application, with the "
            "write:statuses and read:accounts scopes; copy “Your access token”."
        ),
    )


class PostForm(forms.Form):
    WHEN = [("now", _("Post now")), ("later", _("Schedule"))]

    text = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 5}))
    accounts = forms.ModelMultipleChoiceField(
        label=_("Post to"),
        queryset=SocialAccount.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Pick at least one account.")},
    )
    when = forms.ChoiceField(label=_("When"), choices=WHEN, initial="now", widget=forms.RadioSelect)
    at = NationDateTimeField(label=_("Post at"), required=False)

    def __init__(self, *args, nation, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["accounts"].queryset = SocialAccount.objects.filter(
            status=SocialAccount.Status.CONNECTED
        )
        self.fields["at"].set_nation(nation)
        self.fields["text"].help_text = _(
            "X allows 280 characters (CJK and emoji count double), Mastodon 500; "
            "a link counts as 23."
        )

    def clean(self):
        data = super().clean()
        if data.get("when") == "later":
            at = data.get("at")
            if at is None:
                self.add_error("at", _("Pick the date and time to post."))
            elif at <= timezone.now():
                self.add_error("at", _("Pick a time in the future."))
        else:
            data["at"] = None
        if data.get("text") and data.get("accounts"):
            try:
                check_length(data["text"].strip(), list(data["accounts"]))
            except PostTooLong as error:
                self.add_error("text", str(error))
        return data


class AutoPostForm(forms.ModelForm):
    class Meta:
        model = AutoPostSettings
        fields = ["template"]
        widgets = {"template": forms.Textarea(attrs={"rows": 3})}
