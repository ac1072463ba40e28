"""A person's timeline in words: each Activity kind told in the reader's language."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from .models import Activity, Channel, Consent, Person

ICONS = {
    Activity.Kind.CREATED: "+",
    Activity.Kind.IMPORTED: "⇣",
    Activity.Kind.UPDATED: "✎",
    Activity.Kind.MERGED: "⇄",
    Activity.Kind.TAGGED: "#",
    Activity.Kind.UNTAGGED: "#",
    Activity.Kind.LISTED: "☰",
    Activity.Kind.UNLISTED: "☰",
    Activity.Kind.NOTE: "✐",
    Activity.Kind.CONTACT: "☎",
    Activity.Kind.CONSENT: "✓",
    Activity.Kind.SIGNED: "✍",
    Activity.Kind.RSVP: "✓",
    Activity.Kind.DONATED: "€",
    Activity.Kind.EMAIL_SENT: "✉",
    Activity.Kind.EMAIL_OPENED: "✉",
    Activity.Kind.EMAIL_CLICKED: "↗",
    Activity.Kind.SMS_SENT: "✆",
    Activity.Kind.SMS_RECEIVED: "✉",
    Activity.Kind.CALLED: "☎",
    Activity.Kind.UNSUBSCRIBED: "⊘",
    Activity.Kind.RECRUITED: "★",
    Activity.Kind.ERASED: "×",
}


@dataclass
class Change:
    field: str
    old: Any
    new: Any

    def __post_init__(self) -> None:
        self.old, self.new = _show(self.old), _show(self.new)


def _show(value: Any) -> str:
    """What a reader sees for a stored value: "" for nothing, the text otherwise (0 shows)."""
    if value in (None, "", [], {}):
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


@dataclass
class Entry:
    activity: Activity
    icon: str
    text: str
    changes: list[Change]

    @property
    def actor(self) -> str:
        return self.activity.actor_name


def field_label(name: str) -> str:
    if name == "emails":
        return _("emails")
    if name == "phones":
        return _("phones")
    if name == "social":
        return _("social handles")
    if name == "custom":
        return _("custom fields")
    if name == "recruiter_id":
        return _("recruited by")
    try:
        return str(Person._meta.get_field(name).verbose_name)
    except Exception:  # noqa: BLE001 - a field since removed still shows by its name
        return name


def _changes(data: dict) -> list[Change]:
    result = []
    for name, pair in (data.get("changes") or {}).items():
        old, new = (
            (list(pair) + [None, None])[:2] if isinstance(pair, list | tuple) else (None, pair)
        )
        if name in ("custom", "social") and isinstance(old, dict | None) and isinstance(new, dict):
            old = old or {}
            for key in sorted(set(old) | set(new)):
                if old.get(key) != new.get(key):
                    result.append(Change(key, old.get(key), new.get(key)))
            continue
        result.append(Change(field_label(name), old, new))
    return result


def _channel(value: str) -> str:
    try:
        return str(Channel(value).label)
    except ValueError:
        return value


def _status(value: str) -> str:
    try:
        return str(Consent(value).label).lower()
    except ValueError:
        return value


def describe(activity: Activity) -> Entry:
    kind, summary, data = activity.kind, activity.summary, activity.data or {}
    K = Activity.Kind
    changes: list[Change] = []
    if kind == K.CREATED:
        text = _("Added (%(source)s)") % {"source": data.get("source") or summary or "—"}
    elif kind == K.IMPORTED:
        text = _("Imported (%(source)s)") % {"source": summary or data.get("source") or "—"}
    elif kind == K.UPDATED:
        changes = _changes(data)
        text = (
            _("Edited")
            if activity.actor_name
            else _("Updated (%(source)s)") % {"source": data.get("source") or summary or "—"}
        )
    elif kind == K.MERGED:
        text = _("Merged with %(name)s (#%(id)s)") % {
            "name": summary or "—",
            "id": data.get("merged_person_id", "?"),
        }
        changes = [
            Change(field_label(k), None, v[1]) for k, v in (data.get("filled") or {}).items()
        ]
    elif kind == K.TAGGED:
        text = _("Tagged “%(tag)s”") % {"tag": summary}
    elif kind == K.UNTAGGED:
        text = _("Tag “%(tag)s” removed") % {"tag": summary}
    elif kind == K.LISTED:
        text = _("Added to the list “%(list)s”") % {"list": summary}
    elif kind == K.UNLISTED:
        text = _("Removed from the list “%(list)s”") % {"list": summary}
    elif kind == K.NOTE:
        text = _("Note: %(text)s") % {"text": summary}
    elif kind == K.CONTACT:
        text = _("Contacted: %(what)s") % {"what": summary}
    elif kind == K.CONSENT:
        text = _("%(channel)s consent %(status)s (%(source)s)") % {
            "channel": _channel(data.get("channel", "")),
            "status": _status(data.get("status", "")),
            "source": data.get("source") or "—",
        }
    elif kind == K.SIGNED:
        text = _("Signed %(what)s") % {"what": summary}
    elif kind == K.RSVP:
        text = _("RSVP: %(what)s") % {"what": summary}
    elif kind == K.DONATED:
        text = _("Donated: %(what)s") % {"what": summary}
    elif kind == K.EMAIL_SENT:
        text = _("Received the email “%(what)s”") % {"what": summary}
    elif kind == K.EMAIL_OPENED:
        text = _("Opened the email “%(what)s”") % {"what": summary}
    elif kind == K.EMAIL_CLICKED:
        text = _("Clicked in the email “%(what)s”") % {"what": summary}
    elif kind == K.SMS_SENT:
        text = _("Received the text “%(what)s”") % {"what": summary}
    elif kind == K.SMS_RECEIVED:
        text = _("Texted: “%(what)s”") % {"what": summary}
    elif kind == K.CALLED:
        text = _("Called: %(what)s") % {"what": summary}
    elif kind == K.UNSUBSCRIBED:
        text = _("Unsubscribed (%(what)s)") % {"what": summary or "—"}
    elif kind == K.RECRUITED:
        text = _("Recruited %(name)s") % {"name": summary}
    elif kind == K.ERASED:
        text = _("Personal data erased")
    else:
        text = summary or activity.get_kind_display()
    return Entry(activity=activity, icon=ICONS.get(kind, "•"), text=text, changes=changes)
