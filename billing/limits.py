"""Plan limits and feature gates, enforced in one place.

    from billing.limits import ensure_within, require_feature, PlanLimitReached

    ensure_within(nation, "people", adding=len(rows))   # before staff-initiated growth
    ensure_within(nation, "staff", adding=1)            # before inviting a new staff member
    require_feature(nation, "sms")                      # before anything SMS

`ensure_within` raises `PlanLimitReached` when `current + adding` would pass the plan's limit;
`str(error)` is a sentence in the active language naming the limit, the limit and the usage.
For the monthly meters ("emails", "sms") use billing.meters.meter_consume, which checks and
counts in one statement. Public sign-ups are never checked: supporters are never lost to a limit.
"""

from __future__ import annotations

import time
from datetime import datetime

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tenants.models import Domain, Membership, Nation

from .catalogue import FEATURE_LABELS
from .models import LIMIT_FIELDS, Plan

LIMIT_LABELS = {
    "people": gettext_lazy("people"),
    "emails": gettext_lazy("emails this month"),
    "sms": gettext_lazy("text messages this month"),
    "staff": gettext_lazy("staff seats"),
    "domains": gettext_lazy("custom domains"),
}


class PlanLimitReached(Exception):
    """Adding `adding` would take `limit_name` past the plan's `limit` (usage is `current`)."""

    def __init__(self, limit_name: str, *, limit: int, current: int, adding: int, plan: str):
        super().__init__(limit_name)
        self.limit_name = limit_name
        self.limit = limit
        self.current = current
        self.adding = adding
        self.plan = plan

    @property
    def message(self) -> str:
        return _(
            "Your %(plan)s plan allows %(limit)s %(what)s; you have %(current)s and this would "
            "add %(adding)s. Upgrade your plan to go further."
        ) % {
            "plan": self.plan,
            "limit": f"{self.limit:,}",
            "what": LIMIT_LABELS[self.limit_name],
            "current": f"{self.current:,}",
            "adding": f"{self.adding:,}",
        }

    def __str__(self) -> str:
        return self.message


class FeatureNotInPlan(Exception):
    def __init__(self, feature: str, *, plan: str, needed: str | None):
        super().__init__(feature)
        self.feature = feature
        self.plan = plan
        self.needed = needed

    @property
    def message(self) -> str:
        label = FEATURE_LABELS.get(self.feature, self.feature)
        if self.needed:
            return _("%(feature)s is not in the %(plan)s plan. It comes with %(needed)s.") % {
                "feature": label,
                "plan": self.plan,
                "needed": self.needed,
            }
        return _("%(feature)s is not in the %(plan)s plan.") % {
            "feature": label,
            "plan": self.plan,
        }

    def __str__(self) -> str:
        return self.message


# A nation's plan changes rarely and limits are read on hot paths (every blast batch, every
# import chunk): keep it for a few seconds per process. billing.actions clears it on change.
_PLAN_CACHE: dict[int, tuple[float, Plan, datetime]] = {}
PLAN_CACHE_SECONDS = 10.0


def _standing(nation: Nation) -> tuple[Plan, datetime]:
    hit = _PLAN_CACHE.get(nation.pk)
    now = time.monotonic()
    if hit and now - hit[0] < PLAN_CACHE_SECONDS:
        return hit[1], hit[2]
    from .state import subscription_for

    sub = subscription_for(nation)
    _PLAN_CACHE[nation.pk] = (now, sub.plan, sub.billing_anchor)
    return sub.plan, sub.billing_anchor


def plan_for(nation: Nation) -> Plan:
    return _standing(nation)[0]


def anchor_for(nation: Nation) -> datetime:
    """Start of the nation's billing months (monthly meters reset on it)."""
    return _standing(nation)[1]


def forget_plan(nation_id: int) -> None:
    _PLAN_CACHE.pop(nation_id, None)


def usage(nation: Nation, name: str) -> int:
    """Current usage of one limit."""
    if name == "people":
        return people_count(nation)
    if name == "staff":
        # Seats are for the people an owner brings in; the owners themselves do not take one.
        return (
            Membership.objects.filter(nation_id=nation.pk)
            .exclude(role=Membership.Role.OWNER)
            .count()
        )
    if name == "domains":
        return Domain.objects.filter(tenant_id=nation.pk, is_custom=True).count()
    if name in ("emails", "sms"):
        from .meters import meter_value

        return meter_value(nation, name)
    raise ValueError(f"unknown limit {name!r}; one of {sorted(LIMIT_FIELDS)}")


def people_count(nation: Nation) -> int:
    from .meters import _cursor  # schema-qualified SQL: no search_path round trip needed

    with _cursor() as cursor:
        cursor.execute(
            f'SELECT count(*) FROM "{nation.schema_name}".people_person WHERE NOT is_erased'
        )
        return cursor.fetchone()[0]


def ensure_within(nation: Nation, name: str, *, adding: int = 1) -> None:
    """Raise PlanLimitReached unless the nation may add `adding` more of `name`."""
    if name not in LIMIT_FIELDS:
        raise ValueError(f"unknown limit {name!r}; one of {sorted(LIMIT_FIELDS)}")
    plan = plan_for(nation)
    limit = plan.limit(name)
    if limit is None:
        return
    current = usage(nation, name)
    if current + adding > limit:
        raise PlanLimitReached(name, limit=limit, current=current, adding=adding, plan=plan.name)


def has_feature(nation: Nation, feature: str) -> bool:
    return feature in plan_for(nation).features


def require_feature(nation: Nation, feature: str) -> None:
    plan = plan_for(nation)
    if feature in plan.features:
        return
    needed = (
        Plan.objects.filter(is_active=True, features__contains=[feature])
        .order_by("position")
        .values_list("name", flat=True)
        .first()
    )
    raise FeatureNotInPlan(feature, plan=plan.name, needed=needed)


def usage_report(nation: Nation, plan: Plan | None = None) -> list[dict]:
    """Every limit with its usage, for the billing page's bars."""
    plan = plan or plan_for(nation)
    rows = []
    for name in LIMIT_FIELDS:
        limit = plan.limit(name)
        used = usage(nation, name)
        pct = 0 if not limit else min(100, round(used * 100 / limit))
        rows.append(
            {
                "name": name,
                "label": LIMIT_LABELS[name],
                "used": used,
                "limit": limit,
                "pct": 100 if limit == 0 and used else pct,
                "over": limit is not None and used > limit,
                "full": limit is not None and used >= limit,
            }
        )
    return rows


def downgrade_blockers(nation: Nation, plan: Plan) -> list[dict]:
    """The limits of `plan` this nation already exceeds (people, staff, domains)."""
    blockers = []
    for name in ("people", "staff", "domains"):
        limit = plan.limit(name)
        if limit is None:
            continue
        used = usage(nation, name)
        if used > limit:
            blockers.append({"name": name, "limit": limit, "used": used, "excess": used - limit})
    return blockers
