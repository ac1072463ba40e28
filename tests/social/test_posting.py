"""Posts go through the comms delivery pipeline to the local X and Mastodon servers: signed,
once, with faults sorted into retry (429, 5xx) and stop (revoked token)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from nations.comms import pipeline
from nations.comms.models import Delivery
from nations.social import actions
from nations.social.models import PostTarget, SocialAccount, SocialPost
from nations.social.networks import SocialError, post_length


def _target(post) -> PostTarget:
    return PostTarget.objects.select_related("delivery").get(post=post)


def test_a_post_reaches_x_signed_with_oauth1(x_account, social, staff):
    post = actions.post_create(text="Meeting tonight, all welcome", accounts=[x_account])
    target = _target(post)
    assert target.delivery.channel == "social" and target.delivery.status == "queued"
    totals = pipeline.pump("social")
    assert totals["sent"] == 1, totals
    [request] = social.recorded("POST", "/2/tweets")
    assert request.signature_verified is True and request.status == 201
    assert request.body == {"text": "Meeting tonight, all welcome"}
    target.refresh_from_db()
    target.delivery.refresh_from_db()
    assert target.delivery.status == "sent" and target.remote_id == social.tweets[0]["id"]
    page = staff.get(f"/panel/communication/social/{post.pk}/").content.decode()
    assert f"https://x.com/alpha_nation/status/{target.remote_id}" in page
    assert "Posted" in page


def test_a_post_reaches_mastodon_with_an_idempotency_key(mastodon_account, social, staff):
    response = staff.post(
        "/panel/communication/social/new/",
        {"text": "Bonjour Mastodon", "accounts": [mastodon_account.pk], "when": "now"},
    )
    assert response.status_code == 302
    post = SocialPost.objects.get()
    pipeline.pump("social")
    [request] = social.recorded("POST", "/api/v1/statuses")
    assert request.body["status"] == "Bonjour Mastodon"
    assert request.headers["Idempotency-Key"].startswith("nations-")
    target = _target(post)
    assert target.remote_url == social.statuses[0]["url"]
    listing = staff.get("/panel/communication/social/").content.decode()
    assert target.remote_url in listing and "badge-social-posted" in listing


def test_weighted_length_counts_links_as_23_and_wide_characters_double():
    url = "https://example.org/" + "a" * 100
    assert post_length("a" * 256 + " " + url, "x") == 280
    assert post_length("漢" * 141, "x") == 282
    assert post_length("漢" * 141, "mastodon") == 141
    assert post_length("é" * 280, "x") == 280


def test_a_post_over_the_limit_is_refused_before_saving(x_account, mastodon_account, staff):
    response = staff.post(
        "/panel/communication/social/new/",
        {"text": "漢" * 141, "accounts": [x_account.pk, mastodon_account.pk], "when": "now"},
    )
    assert response.status_code == 200
    assert "Too long for X (Twitter): 282 characters, the limit is 280" in response.content.decode()
    assert not SocialPost.objects.exists() and not Delivery.objects.filter(channel="social")
    # The same text is fine for Mastodon alone.
    ok = staff.post(
        "/panel/communication/social/new/",
        {"text": "漢" * 141, "accounts": [mastodon_account.pk], "when": "now"},
    )
    assert ok.status_code == 302 and SocialPost.objects.count() == 1
    with pytest.raises(SocialError):
        actions.post_create(text="x" * 501, accounts=[mastodon_account])


def test_a_revoked_x_token_stops_the_account_without_retrying(x_account, social, staff):
    social.revoke("x-alpha-token")
    post = actions.post_create(text="Will not go out", accounts=[x_account])
    second = actions.post_create(text="Nor this one", accounts=[x_account])
    totals = pipeline.pump("social")
    assert (totals["failed"], totals["retry"], totals["sent"]) == (2, 0, 0), totals
    assert len(social.recorded("POST", "/2/tweets")) == 1  # the second never called X
    x_account.refresh_from_db()
    assert x_account.status == SocialAccount.Status.RECONNECT
    delivery = _target(post).delivery
    assert delivery.status == "failed" and "Reconnect the account" in delivery.error
    assert "needs reconnecting" in _target(second).delivery.error
    # Nothing is queued again: a later pump does not call X.
    Delivery.objects.filter(channel="social").update(claimed_at=timezone.now() - timedelta(hours=1))
    pipeline.pump("social")
    assert len(social.recorded("POST", "/2/tweets")) == 1
    listing = staff.get("/panel/communication/social/").content.decode()
    assert "@alpha_nation needs reconnecting." in listing and "badge-social-failed" in listing
    with pytest.raises(SocialError, match="needs reconnecting"):
        actions.post_create(text="again", accounts=[x_account])
    # Reconnecting with working tokens clears the flag.
    social.revoked.clear()
    actions.account_connect_x(access_token="x-alpha-token", access_secret="x-alpha-secret")
    x_account.refresh_from_db()
    assert x_account.status == SocialAccount.Status.CONNECTED


def _time_passes(post) -> None:
    """The retry's backoff ('not before' in claimed_at) has elapsed."""
    Delivery.objects.filter(pk=_target(post).delivery_id).update(
        claimed_at=timezone.now() - timedelta(seconds=1)
    )


def test_x_429_is_retried_with_backoff_and_posted_exactly_once(x_account, social, staff):
    social.fail("/2/tweets", 429)
    post = actions.post_create(text="Rate limited, then fine", accounts=[x_account])
    assert pipeline.pump("social")["retry"] == 1
    delivery = _target(post).delivery
    assert delivery.status == "queued" and "slow down (429)" in delivery.error
    assert delivery.claimed_at > timezone.now()  # backing off
    page = staff.get(f"/panel/communication/social/{post.pk}/").content.decode()
    assert "Will retry" in page
    assert pipeline.pump("social")["sent"] == 0  # too early: nothing claimed
    assert len(social.recorded("POST", "/2/tweets")) == 1
    _time_passes(post)
    assert pipeline.pump("social")["sent"] == 1
    assert [r.status for r in social.recorded("POST", "/2/tweets")] == [429, 201]
    assert len(social.tweets) == 1


def test_mastodon_5xx_is_retried_and_posted_once(mastodon_account, social):
    social.fail("/api/v1/statuses", 503)
    post = actions.post_create(text="Server hiccup", accounts=[mastodon_account])
    assert pipeline.pump("social")["retry"] == 1
    _time_passes(post)
    assert pipeline.pump("social")["sent"] == 1
    assert len(social.statuses) == 1
    keys = {r.headers["Idempotency-Key"] for r in social.recorded("POST", "/api/v1/statuses")}
    assert len(keys) == 1  # the retry carried the same key


def test_a_post_claimed_again_after_it_went_out_is_not_posted_twice(x_account, social):
    post = actions.post_create(text="Exactly once", accounts=[x_account])
    pipeline.pump("social")
    # A worker died after X answered but before the mark: the reaper queues the row again.
    Delivery.objects.filter(pk=_target(post).delivery_id).update(
        status="queued", claimed_at=None, claimed_by=""
    )
    assert pipeline.pump("social")["sent"] == 1
    assert len(social.recorded("POST", "/2/tweets")) == 1 and len(social.tweets) == 1


def test_a_scheduled_post_goes_out_only_when_its_time_comes(x_account, social, staff):
    nation = staff.world.nation
    nation.timezone = "Europe/Paris"
    nation.save(update_fields=["timezone"])
    response = staff.post(
        "/panel/communication/social/new/",
        {
            "text": "Tomorrow morning",
            "accounts": [x_account.pk],
            "when": "later",
            "at": "2030-01-15T10:00",
        },
    )
    assert response.status_code == 302
    post = SocialPost.objects.get()
    assert post.status == "scheduled"
    assert post.scheduled_at.isoformat() == "2030-01-15T09:00:00+00:00"  # 10:00 in Paris
    assert _target(post).delivery is None
    assert actions.posts_launch_due() == 0
    pipeline.pump("social")
    assert social.recorded("POST", "/2/tweets") == []
    page = staff.get("/panel/communication/social/").content.decode()
    assert "badge-social-scheduled" in page
    just_before = post.scheduled_at - timedelta(seconds=1)
    assert actions.posts_launch_due(now=just_before) == 0
    assert actions.posts_launch_due(now=post.scheduled_at + timedelta(minutes=1)) == 1
    assert actions.posts_launch_due(now=post.scheduled_at + timedelta(minutes=2)) == 0
    assert pipeline.pump("social")["sent"] == 1
    assert [t["text"] for t in social.tweets] == ["Tomorrow morning"]


def test_a_scheduled_post_can_be_cancelled(x_account, social, staff):
    post = actions.post_create(
        text="Never mind", accounts=[x_account], at=timezone.now() + timedelta(hours=2)
    )
    staff.post(f"/panel/communication/social/{post.pk}/cancel/")
    post.refresh_from_db()
    assert post.status == "cancelled"
    assert actions.posts_launch_due(now=timezone.now() + timedelta(days=1)) == 0


def test_a_schedule_in_the_past_is_refused(x_account, staff):
    response = staff.post(
        "/panel/communication/social/new/",
        {"text": "Too late", "accounts": [x_account.pk], "when": "later", "at": "2001-01-01T10:00"},
    )
    assert "Pick a time in the future." in response.content.decode()
    assert not SocialPost.objects.exists()


def test_posts_page_empty_state_leads_to_connecting_an_account(social, staff):
    page = staff.get("/panel/communication/social/").content.decode()
    assert "No social posts yet" in page and "Connect an account" in page
    assert staff.get("/panel/communication/social/new/").status_code == 302


def test_the_minute_ticks_launch_due_posts_and_restart_the_social_pump(
    x_account, social, in_alpha, django_capture_on_commit_callbacks
):
    from nations.comms.tasks import tick_nation
    from nations.social.tasks import tick

    post = actions.post_create(
        text="On the beat", accounts=[x_account], at=timezone.now() + timedelta(minutes=5)
    )
    SocialPost.objects.filter(pk=post.pk).update(scheduled_at=timezone.now() - timedelta(seconds=5))
    with django_capture_on_commit_callbacks(execute=False):
        tick()  # beat, in public: every active nation
    connection.set_tenant(in_alpha.nation)
    post.refresh_from_db()
    assert post.status == "sending" and _target(post).delivery.status == "queued"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        tick_nation()  # no pump running: the comms tick starts one for social
    assert ("social",) in [_task_args(callback) for callback in callbacks]
    assert pipeline.pump("social")["sent"] == 1


def _task_args(callback) -> tuple | None:
    """The arguments of the task a send_on_commit callback will send."""
    cells = dict(zip(callback.__code__.co_freevars, callback.__closure__ or (), strict=False))
    return cells["args"].cell_contents if "args" in cells else None


def test_x_answering_5xx_after_posting_is_not_posted_twice(x_account, social, staff):
    """X made the tweet but answered 502: the retry meets X's duplicate refusal, which after an
    uncertain attempt means "already posted"."""
    social.fail("/2/tweets", 502, after=True)
    post = actions.post_create(text="Made, but the answer was lost", accounts=[x_account])
    assert pipeline.pump("social")["retry"] == 1
    assert len(social.tweets) == 1
    _time_passes(post)
    assert pipeline.pump("social")["sent"] == 1
    assert [r.status for r in social.recorded("POST", "/2/tweets")] == [502, 403]
    assert len(social.tweets) == 1
    page = staff.get(f"/panel/communication/social/{post.pk}/").content.decode()
    assert "badge-social-posted" in page


def test_mastodon_answering_5xx_after_posting_is_not_posted_twice(mastodon_account, social):
    social.fail("/api/v1/statuses", 500, after=True)
    post = actions.post_create(text="Lost answer", accounts=[mastodon_account])
    assert pipeline.pump("social")["retry"] == 1
    _time_passes(post)
    assert pipeline.pump("social")["sent"] == 1
    assert len(social.statuses) == 1  # the Idempotency-Key returned the first status
    assert _target(post).remote_url == social.statuses[0]["url"]


def test_the_same_text_twice_on_x_fails_with_a_clear_message(x_account, social):
    actions.post_create(text="Same words", accounts=[x_account])
    second = actions.post_create(text="Same words", accounts=[x_account])
    pipeline.pump("social")
    delivery = _target(second).delivery
    assert delivery.status == "failed" and "already posted the same text" in delivery.error
