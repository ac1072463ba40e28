"""Signups racing for one slug, on two real connections with committed transactions."""

from __future__ import annotations

import threading

from django.db import connections

from tenants.actions import SlugTaken, nation_create
from tenants.models import Nation, User
from tests.conftest import drop_nation, new_owner


def test_two_signups_racing_for_one_slug_exactly_one_wins(django_db_blocker, world):
    """Two real connections, committed transactions: the loser gets SlugTaken."""
    barrier = threading.Barrier(2)
    results: dict[str, str] = {}

    def attempt(email: str) -> None:
        try:
            barrier.wait(timeout=10)
            nation_create(
                name="Race", slug="race-slug", country="FR", language="en", owner=new_owner(email)
            )
            results[email] = "won"
        except SlugTaken:
            results[email] = "taken"
        finally:
            connections.close_all()

    with django_db_blocker.unblock():
        try:
            threads = [
                threading.Thread(target=attempt, args=(f"racer{i}@example.org",)) for i in range(2)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            assert sorted(results.values()) == ["taken", "won"], results
            assert Nation.objects.filter(slug="race-slug").count() == 1
            loser = next(e for e, r in results.items() if r == "taken")
            assert not User.objects.filter(email=loser).exists()
        finally:
            drop_nation("race-slug")
