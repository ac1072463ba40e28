"""Moving a logged-in user from one host to another (see LoginHandoff)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from urllib.parse import urlencode

from django.utils import timezone

from .hosts import nation_url
from .models import LoginHandoff, Nation, User

TTL = timedelta(seconds=60)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def handoff_issue(*, user: User, nation: Nation, next_path: str = "/panel/") -> str:
    """The URL on the nation's host that logs `user` in once, within a minute."""
    token = secrets.token_urlsafe(32)
    LoginHandoff.objects.create(
        token_hash=_hash(token),
        user=user,
        nation=nation,
        next_path=next_path,
        expires_at=timezone.now() + TTL,
    )
    return nation_url(nation, "/panel/welcome/?" + urlencode({"t": token}))


def handoff_consume(*, token: str, nation: Nation) -> tuple[User, str] | None:
    """(user, next path) if the ticket is valid for this nation and unused; else None.

    A single conditional UPDATE consumes it, so two requests racing with one ticket log in
    at most once."""
    if not token or len(token) > 100:
        return None
    now = timezone.now()
    updated = LoginHandoff.objects.filter(
        token_hash=_hash(token), nation=nation, used_at__isnull=True, expires_at__gt=now
    ).update(used_at=now)
    if not updated:
        return None
    ticket = LoginHandoff.objects.select_related("user").get(token_hash=_hash(token))
    if not ticket.user.is_active:
        return None
    return ticket.user, ticket.next_path
