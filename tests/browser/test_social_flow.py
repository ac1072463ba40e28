"""Social posts in Chromium: a staff member connects X (Sign in with X) and Mastodon (checked
against the local server), writes a post to both, and sees it posted with its links (a real
Celery worker runs the comms pump; the local server verifies the X requests' OAuth1
signatures)."""

from __future__ import annotations

import re

import pytest
from celery.contrib.testing.worker import start_worker

from config.celery import app
from config.social_server import LocalSocial
from tenants.actions import nation_create
from tests.browser.conftest import panel_login
from tests.conftest import PASSWORD, new_owner

from .test_signup_flow import SHOTS, committed

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

SLUG = "social-flow"


def _seed() -> None:
    nation_create(
        name="Social Nation", slug=SLUG, country="FR", language="en",
        owner=new_owner("social.owner@example.org"),
    )  # fmt: skip


def _drop() -> None:
    from tests.conftest import drop_nation

    drop_nation(SLUG)


@pytest.fixture
def social_and_worker(django_db_blocker, settings, tmp_path):
    server = LocalSocial().start()
    server.add_x_consumer("browser-key", "browser-secret")
    server.add_x_user("browser-x-token", "browser-x-secret", "social_nation")
    server.add_mastodon_user("browser-m-token", "social")
    settings.SOCIAL_X_CONSUMER_KEY, settings.SOCIAL_X_CONSUMER_SECRET = (
        "browser-key",
        "browser-secret",
    )
    settings.SOCIAL_X_API_BASE = server.url
    settings.SOCIAL_MASTODON_ALLOW_HTTP = True
    settings.COMMS_JOURNAL_DIR = tmp_path / "journal"
    try:
        with (
            django_db_blocker.unblock(),
            start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10),
        ):
            yield server
    finally:
        server.stop()


def test_a_staff_member_connects_accounts_and_posts_to_both(browser_page, social_and_worker):
    page, port = browser_page
    server = social_and_worker
    SHOTS.mkdir(parents=True, exist_ok=True)
    committed(_seed)
    try:
        base = f"http://{SLUG}.localhost:{port}"
        panel_login(page, base, "social.owner@example.org", PASSWORD)

        page.get_by_role("link", name="Communication").click()
        page.get_by_role("link", name="Social", exact=True).click()
        assert page.get_by_role("heading", name="No social posts yet").is_visible()
        page.locator(".empty").get_by_role("link", name="Connect an account").click()

        # Sign in with X: off to X's authorize page (the local server's), approve, come back.
        page.get_by_role("button", name="Sign in with X").click()
        page.get_by_role("link", name="Authorize as @social_nation").click()
        page.wait_for_url(re.compile(r".*/communication/social/accounts/$"))
        assert page.get_by_text("Connected @social_nation.").is_visible()
        m_form = page.locator("form", has_text="Connect Mastodon")
        m_form.get_by_label("Server address").fill(server.url)
        m_form.get_by_label("Access token").fill("browser-m-token")
        m_form.get_by_role("button", name="Connect Mastodon").click()
        assert page.get_by_role("cell", name=re.compile(r"@social@127\.0\.0\.1")).is_visible()
        page.screenshot(path=str(SHOTS / "social-accounts.png"), full_page=True)

        page.get_by_role("link", name="Posts", exact=True).click()
        page.get_by_role("link", name="New post").first.click()
        page.get_by_label("Text").fill("漢" * 141)
        page.get_by_label("@social_nation").check()
        page.get_by_label(re.compile(r"@social@")).check()
        page.get_by_role("button", name="Save post").click()
        assert page.get_by_text("Too long for X (Twitter): 282 characters").is_visible()
        page.screenshot(path=str(SHOTS / "social-too-long.png"), full_page=True)
        page.get_by_label("Text").fill(
            "Rally on Saturday at 10, Place Bellecour https://example.org/rally"
        )
        page.get_by_role("button", name="Save post").click()
        page.wait_for_url(re.compile(r".*/communication/social/\d+/$"))
        for _ in range(40):
            if page.locator("h1 .badge-social-posted").count():
                break
            page.wait_for_timeout(500)
            page.reload()
        assert page.locator("h1 .badge-social-posted").is_visible()
        assert page.get_by_role("link", name="View post").count() == 2
        [tweet] = server.recorded("POST", "/2/tweets")
        assert tweet.signature_verified is True
        assert server.recorded("POST", "/oauth/access_token")[0].signature_verified
        page.screenshot(path=str(SHOTS / "social-post.png"), full_page=True)
        page.get_by_role("link", name="All posts").click()
        page.screenshot(path=str(SHOTS / "social-posts.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(SHOTS / "social-posts-phone.png"), full_page=True)
    finally:
        committed(_drop)
