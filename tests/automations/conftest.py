"""Automations tests: the alpha nation on a plan with automations, and helpers that build
automations through the actions. Time is advanced by passing `now` to the tick, never slept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone, translation
from django_tenants.utils import schema_context

from billing.limits import forget_plan
from billing.models import Plan, Subscription
from nations.automations import actions
from nations.automations.engine import tick_nation
from nations.automations.models import Automation
from nations.comms import pipeline
from nations.comms.actions import broadcaster_save
from tests.comms.conftest import _sink_server, sink  # noqa: F401 - fixtures


def organizer(nation) -> None:
    Subscription.objects.filter(nation=nation).update(plan=Plan.objects.get(code="organizer"))
    forget_plan(nation.pk)


@pytest.fixture
def in_alpha(alpha):
    organizer(alpha.nation)
    translation.activate("en")  # a French panel request earlier on this thread leaves fr on
    with schema_context(alpha.nation.schema_name):
        connection.set_tenant(alpha.nation)
        yield alpha
    forget_plan(alpha.nation.pk)


class Clock:
    """The engine's idea of now, moved by tests."""

    def __init__(self) -> None:
        self.now = timezone.now()

    def tick(self, **delta):
        self.now += timedelta(**delta)
        result = tick_nation(now=self.now)
        return result


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_automation(name="Welcome", *, steps, activate=True, **fields) -> Automation:
    automation = actions.automation_save(name=name, **fields)
    for kind, config in steps:
        actions.step_add(automation=automation, kind=kind, config=config)
    if activate:
        automation = actions.automation_activate(automation=automation)
    return automation


def sender():
    from nations.comms.models import Broadcaster

    return Broadcaster.objects.first() or broadcaster_save(
        name="Team", from_email="team@alpha.example", postal_address="1 rue de la Paix, Paris"
    )


def pump() -> None:
    pipeline.pump("email")
