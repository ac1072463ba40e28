"""Form fields the panel's areas share."""

from __future__ import annotations

import zoneinfo
from datetime import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _


def nation_zone(nation) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(nation.timezone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


class NationDateTimeField(forms.DateTimeField):
    """A date and time typed in the nation's time zone (a `datetime-local` input). Django reads
    typed times in the server's zone; staff mean their nation's: the wall-clock time is kept and
    its zone changed, so 10:00 in Paris is 08:00 UTC in summer."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    input_formats = ["%Y-%m-%dT%H:%M"]

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("input_formats", self.input_formats)
        super().__init__(*args, **kwargs)
        self.zone = zoneinfo.ZoneInfo("UTC")

    def set_nation(self, nation) -> None:
        self.zone = nation_zone(nation)
        self.help_text = _("In your nation's time zone (%(zone)s).") % {"zone": self.zone.key}

    def clean(self, value) -> datetime | None:
        value = super().clean(value)
        if value is None:
            return None
        if timezone.is_aware(value):
            value = timezone.make_naive(value)
        return value.replace(tzinfo=self.zone)
