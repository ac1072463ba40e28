"""The confirmation email a page sends to whoever submits its form.

Subject and text are editable per page with merge fields ({{ first_name }}, {{ page_title }},
{{ page_url }}, {{ share_url }}, {{ event_when }}, {{ event_place }}), rendered by the same
sandboxed Liquid engine as the themes. The message is built in the request and sent after
commit by a Celery task that needs no database (the email issue will route it through its
pipeline later)."""

from __future__ import annotations

import functools
import logging

from django.db import connection, transaction
from django.utils.translation import gettext as _

from tenants.hosts import nation_url
from themes.engine import SandboxEnvironment, ThemeLoader

log = logging.getLogger(__name__)

_plain = SandboxEnvironment(ThemeLoader("default", {}))
_plain.autoescape = False


def default_subject(page) -> str:
    if page.kind == "event":
        return _("Your RSVP: {{ page_title }}")
    if page.kind == "petition":
        return _("Thank you for signing, {{ first_name }}")
    return _("Thank you, {{ first_name }}")


def default_body(page) -> str:
    lines = [_("Hello {{ first_name }},"), ""]
    if page.kind == "event":
        lines += [
            "{{ status }}",
            "",
            "{{ page_title }}",
            "{{ event_when }}",
            "{{ event_place }}",
            "",
            _("Add it to your calendar: {{ ics_url }}"),
        ]
    elif page.kind == "petition":
        lines += [_("Thank you for signing “{{ page_title }}”.")]
    else:
        lines += [_("Thank you for joining us through “{{ page_title }}”.")]
    lines += [
        "",
        _("Ask your friends to join in with your personal link: {{ share_url }}"),
        "",
        "{{ nation }}",
    ]
    return "\n".join(lines)


@functools.lru_cache(maxsize=512)
def _compiled(template: str):
    """Parsed once per process: every signature of a page renders the same two templates."""
    return _plain.from_string(template)


def merge(template: str, values: dict) -> str:
    try:
        return _compiled(template).render(**values)
    except Exception:  # a broken merge field must not lose the email: send it unmerged
        log.warning("autoresponse merge failed", exc_info=True)
        return template


def autoresponse_send(*, page, person, result, base_url: str = "") -> None:
    from nations.people.actions import recruiter_code_for

    from .public import event_context

    nation = connection.tenant
    base = base_url or nation_url(nation).rstrip("/")
    share_url = f"{base}{page.get_absolute_url()}?recruiter={recruiter_code_for(person)}"
    values = {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "page_title": page.title,
        "page_url": f"{base}{page.get_absolute_url()}",
        "share_url": share_url,
        "nation": nation.name,
    }
    if page.kind == "event":
        event = event_context(page)
        values.update(
            event_when=f"{event['when']} ({event['timezone']})",
            event_place=", ".join(p for p in (page.venue, page.address) if p),
            ics_url=f"{base}{event['ics_url']}",
            status=_("You are on the waiting list: we will write if a place frees up.")
            if result.waitlisted
            else _("Your place is booked."),
        )
    subject = merge(page.autoresponse_subject or default_subject(page), values)
    body = merge(page.autoresponse_body or default_body(page), values)
    from .actions import sender_for

    message = {
        "subject": " ".join(subject.split())[:200],
        "body": body,
        "from_email": sender_for(nation),
        "to": [person.email],
    }
    # Through the delivery pipeline (nations/comms), ahead of any blast, once the signature is
    # committed: rate limits, the hand-over journal and the reaper apply to it too.
    person_id = person.pk

    def queue() -> None:
        from django_tenants.utils import tenant_context

        from nations.comms.actions import transactional_send

        with tenant_context(nation):
            transactional_send(
                to=message["to"][0],
                subject=message["subject"],
                text=message["body"],
                from_email=message["from_email"],
                person_id=person_id,
                kind="autoresponse",
            )

    transaction.on_commit(queue)
