"""In Chromium: the owner connects Stripe (hosted onboarding), a donor gives once and then
monthly on the donation page (Checkout on the local Stripe server), the owner sees both in the
donation reports and on the donor's profile."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from tenants.actions import nation_create
from tenants.models import Nation, User
from tests.billing.conftest import _stripe_server, stripe  # noqa: F401 - fixtures
from tests.conftest import PASSWORD, drop_nation
from tests.donations.conftest import _connect_endpoint, connect  # noqa: F401 - fixtures

from .test_import_flow import worker  # noqa: F401 - fixture
from .test_signup_flow import SHOTS, committed

pytestmark = [pytest.mark.browser, pytest.mark.django_db]
SLUG = "give-demo"


def _make_nation():
    from nations.site.actions import page_publish, page_save
    from nations.site.models import Page

    owner = User.objects.create_user(
        email="owner@give-demo.example", password=PASSWORD, full_name="Ana Owner"
    )
    nation = nation_create(name="Give Demo", slug=SLUG, country="FR", language="en", owner=owner)
    Nation.objects.filter(pk=nation.pk).update(currency="EUR")
    with schema_context(nation.schema_name):
        page = page_save(
            page=Page(),
            data={
                "title": "Support our campaign",
                "slug": "give",
                "kind": "donation",
                "amounts": [10, 25, 50, 100],
                "goal": 5000,
                "intro": "Every euro goes to the field.",
            },
        )
        page_publish(page=page)


def _cleanup():
    from nations.donations.connect.models import ConnectedAccount

    ConnectedAccount.objects.filter(nation__slug=SLUG).delete()
    drop_nation(SLUG)
    User.objects.filter(email="owner@give-demo.example").delete()


def _give(page, base, stripe_url, *, monthly: bool, amount_label: str):
    page.goto(f"{base}/give/?source=newsletter")
    if monthly:
        page.get_by_text("Monthly", exact=True).click()
    page.get_by_text(amount_label, exact=True).click()
    page.get_by_label("First name").fill("Zoé")
    page.get_by_label("Last name").fill("Martin")
    page.get_by_label("Email").fill("zoe@example.org")
    page.get_by_label("Address").fill("1 rue de la Paix")
    page.get_by_label("Postal code").fill("75002")
    page.get_by_label("City").fill("Paris")
    page.get_by_role("button", name="Give now").click()
    page.wait_for_url(f"{stripe_url}/c/pay/**")
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Subscribe" if monthly else "Pay").click()
    page.wait_for_url(f"{base}/give/donate/thanks/**")
    assert "is received" in page.locator("main").inner_text()


def test_donor_gives_once_and_monthly_staff_sees_it(browser_page, connect, worker):  # noqa: F811
    page, port = browser_page
    SHOTS.mkdir(parents=True, exist_ok=True)
    committed(_cleanup)
    committed(_make_nation)
    base = f"http://{SLUG}.localhost:{port}"
    try:
        page.goto(f"{base}/panel/login/")
        page.get_by_label("Email").fill("owner@give-demo.example")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.goto(f"{base}/panel/donations/")
        page.get_by_role("button", name="Connect Stripe").click()
        page.wait_for_url(f"{connect.url}/connect/onboard/**")
        page.get_by_role("button", name="Agree and submit").click()
        page.wait_for_url(f"{base}/panel/donations/")
        assert page.get_by_text("Charges enabled").is_visible()

        page.goto(f"{base}/give/")
        page.screenshot(path=str(SHOTS / "donation-page.png"), full_page=True)
        _give(page, base, connect.url, monthly=False, amount_label="25.00 €")
        page.screenshot(path=str(SHOTS / "donation-thanks.png"))
        _give(page, base, connect.url, monthly=True, amount_label="10.00 €")

        page.goto(f"{base}/panel/donations/")
        recent = page.get_by_test_id("recent-gifts").inner_text()
        assert "Zoé Martin" in recent and "Monthly" in recent and "Once" in recent
        assert "newsletter" in page.locator("main").inner_text()
        page.screenshot(path=str(SHOTS / "donations-panel.png"), full_page=True)
        # The reports over a date range: today only, by day; the CSV link follows it.
        from django.utils import timezone

        today = timezone.localdate().isoformat()
        page.get_by_label("From").fill(today)
        page.get_by_label("To").fill(today)
        page.get_by_role("button", name="Apply").click()
        page.wait_for_url(f"**/panel/donations/?by=week&from={today}&to={today}")
        assert page.get_by_text("Raised in the period").is_visible()
        export = page.get_by_role("link", name="Export CSV").get_attribute("href")
        assert export.endswith(f"?from={today}&to={today}")
        page.screenshot(path=str(SHOTS / "donations-panel-range.png"), full_page=True)
        # The year's tax receipts, issued and emailed.
        page.goto(f"{base}/panel/donations/tax-receipts/")
        page.get_by_label("Year").select_option(str(timezone.localdate().year))
        page.get_by_role("button", name="Issue and email receipts").click()
        page.wait_for_selector(".badge-done", timeout=30000)  # the worker ran the job
        shown = page.locator("main").inner_text()
        assert "1 tax receipts issued" in shown and "1 emailed to their donors" in shown
        page.screenshot(path=str(SHOTS / "donations-tax-receipts-job.png"))
        page.get_by_role("link", name="See the result").click()
        assert page.get_by_role("link", name="PDF").is_visible()
        page.screenshot(path=str(SHOTS / "donations-tax-receipts.png"), full_page=True)
        page.goto(f"{base}/panel/donations/")
        page.get_by_role("link", name="Zoé Martin").first.click()
        assert "Donated" in page.locator("main").inner_text()

        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{base}/give/")
        page.screenshot(path=str(SHOTS / "donation-page-phone.png"), full_page=True)
        page.goto(f"{base}/panel/donations/")
        page.screenshot(path=str(SHOTS / "donations-panel-phone.png"), full_page=True)
    finally:
        committed(_cleanup)
