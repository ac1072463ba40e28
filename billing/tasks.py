"""Billing's beat task: state transitions that are due (grace periods, trial ends)."""

from __future__ import annotations

from config.celery import app

from .state import tick as state_tick


@app.task(name="billing.tick")
def tick() -> int:
    return state_tick()
