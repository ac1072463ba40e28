"""`billing` in panel templates: what the banners of panel/base.html need, computed only when a
template reads it (one query for the subscription, a cached people count)."""

from __future__ import annotations

from django.core.cache import cache
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

PEOPLE_COUNT_SECONDS = 60


def _banners(nation) -> dict:
    from .limits import people_count
    from .models import Subscription

    sub = Subscription.objects.select_related("plan").filter(nation_id=nation.pk).first()
    if sub is None:
        return {}
    now = timezone.now()
    data = {"sub": sub, "status": sub.status}
    if sub.status == Subscription.Status.TRIALING and sub.trial_ends_at:
        left = (sub.trial_ends_at - now).total_seconds() / 86400
        if left <= 7:
            data["trial_days_left"] = max(0, int(left + 0.999))
    limit = sub.plan.people_limit
    if limit is not None:
        people = cache.get_or_set(
            "billing:people-count", lambda: people_count(nation), PEOPLE_COUNT_SECONDS
        )
        if people > limit:
            data["over_people"] = {"count": people, "limit": limit}
    return data


def billing(request):
    nation = getattr(request, "tenant", None)
    if nation is None or not request.path.startswith("/panel/"):
        return {}
    return {"billing": SimpleLazyObject(lambda: _banners(nation))}
