"""What the Social pages show: each post's result per account, read from its deliveries."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from nations.comms.models import Delivery

from .models import PostTarget, SocialPost


@dataclass
class TargetResult:
    target: PostTarget
    state: str  # waiting, retrying, posted, failed, cancelled
    label: str
    detail: str


def target_result(target: PostTarget, post: SocialPost) -> TargetResult:
    delivery = target.delivery
    if post.status == SocialPost.Status.SCHEDULED:
        return TargetResult(target, "scheduled", _("Scheduled"), "")
    if post.status == SocialPost.Status.CANCELLED or delivery is None:
        return TargetResult(target, "cancelled", _("Cancelled"), "")
    status = delivery.status
    if status == Delivery.Status.SENT:
        note = "" if target.remote_url else delivery.error
        return TargetResult(target, "posted", _("Posted"), note)
    if status in (Delivery.Status.FAILED, Delivery.Status.SKIPPED):
        return TargetResult(target, "failed", _("Failed"), delivery.error)
    if status == Delivery.Status.CANCELLED:
        return TargetResult(target, "cancelled", _("Cancelled"), delivery.error)
    if delivery.error:
        return TargetResult(target, "retrying", _("Will retry"), delivery.error)
    return TargetResult(target, "waiting", _("Posting"), "")


def post_outcome(post: SocialPost, results: list[TargetResult]) -> tuple[str, str]:
    """The post's badge: (state, label)."""
    if post.status == SocialPost.Status.SCHEDULED:
        return "scheduled", str(_("Scheduled"))
    if post.status == SocialPost.Status.CANCELLED:
        return "cancelled", str(_("Cancelled"))
    states = {r.state for r in results}
    if not states:  # every account it was for was disconnected
        return "cancelled", str(_("Cancelled"))
    if states & {"waiting", "retrying"}:
        return "waiting", str(_("Posting"))
    if states == {"posted"}:
        return "posted", str(_("Posted"))
    if "posted" in states:
        return "partial", str(_("Partly posted"))
    return "failed", str(_("Failed"))


def with_results(posts) -> list[SocialPost]:
    """Posts with `.results` (per account) and `.outcome` set, in three queries."""
    posts = list(posts)
    targets = PostTarget.objects.filter(post__in=posts).select_related("account", "delivery")
    by_post: dict[int, list[PostTarget]] = {}
    for target in targets:
        by_post.setdefault(target.post_id, []).append(target)
    for post in posts:
        post.results = [target_result(t, post) for t in by_post.get(post.pk, [])]
        post.outcome, post.outcome_label = post_outcome(post, post.results)
    return posts
