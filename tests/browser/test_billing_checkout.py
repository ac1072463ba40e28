"""An owner subscribes in Chromium: Billing page -> Stripe Checkout (the local Stripe server's
hosted page) -> a declined card, then a good one -> back in the panel on the paid plan."""

from __future__ import annotations

import pytest

from billing.models import Subscription
from tenants.actions import nation_create
from tenants.models import User
from tests.billing.conftest import _stripe_server, stripe  # noqa: F401 - fixtures
from tests.conftest import PASSWORD, drop_nation

from .test_signup_flow import SHOTS, committed

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def _make_nation():
    owner = User.objects.create_user(
        email="owner@bill-demo.example", password=PASSWORD, full_name="Ana Owner"
    )
    nation_create(name="Bill Demo", slug="bill-demo", country="US", language="en", owner=owner)


def _cleanup():
    drop_nation("bill-demo")
    User.objects.filter(email="owner@bill-demo.example").delete()


def test_owner_subscribes_through_checkout(browser_page, stripe):  # noqa: F811
    page, port = browser_page
    SHOTS.mkdir(parents=True, exist_ok=True)
    committed(_cleanup)
    committed(_make_nation)
    base = f"http://bill-demo.localhost:{port}"
    try:
        page.goto(f"{base}/panel/login/")
        page.get_by_label("Email").fill("owner@bill-demo.example")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.goto(f"{base}/panel/settings/billing/")
        assert page.get_by_text("days left in your trial").is_visible()
        page.screenshot(path=str(SHOTS / "billing-trial.png"), full_page=True)

        page.get_by_role("button", name="Subscribe to Organizer").click()
        page.wait_for_url(f"{stripe.url}/c/pay/**")
        assert page.get_by_role("heading", name="Nations Organizer").is_visible()
        page.get_by_label("Card number").fill("4000 0000 0000 0002")
        page.get_by_role("button", name="Subscribe").click()
        assert page.get_by_role("alert").inner_text() == "Your card was declined."
        page.get_by_label("Card number").fill("4242 4242 4242 4242")
        page.screenshot(path=str(SHOTS / "billing-checkout.png"))
        page.get_by_role("button", name="Subscribe").click()

        page.wait_for_url(f"{base}/panel/settings/billing/")
        assert (
            "Thank you! Bill Demo is on the Organizer plan."
            in page.locator(".messages").inner_text()
        )
        assert page.locator(".plan.is-current h3").inner_text().startswith("Organizer")
        assert page.get_by_role("button", name="Upgrade to Campaign").is_visible()
        page.screenshot(path=str(SHOTS / "billing-subscribed.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(SHOTS / "billing-subscribed-phone.png"), full_page=True)
        sub = Subscription.objects.get(nation__slug="bill-demo")
        assert (sub.plan.code, sub.status, sub.stripe_status) == ("organizer", "active", "active")
    finally:
        committed(_cleanup)


def _make_operator():
    User.objects.filter(email="op@bill-demo.example").delete()
    User.objects.create_superuser(email="op@bill-demo.example", password=PASSWORD, full_name="Op")


def _drop_operator():
    User.objects.filter(email="op@bill-demo.example").delete()


def test_operator_sees_revenue_charts(browser_page):
    page, port = browser_page
    committed(_make_operator)
    try:
        page.goto(f"http://localhost:{port}/login/")
        page.get_by_label("Email").fill("op@bill-demo.example")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.goto(f"http://localhost:{port}/operator/")
        page.get_by_role("link", name="Revenue").click()
        assert page.get_by_role("img", name="Monthly recurring revenue by plan").is_visible()
        assert page.get_by_role("img", name="Nations by billing status").is_visible()
        assert page.get_by_role("heading", name="Trials ending this week").is_visible()
        page.screenshot(path=str(SHOTS / "operator-revenue.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(SHOTS / "operator-revenue-phone.png"), full_page=True)
    finally:
        committed(_drop_operator)
