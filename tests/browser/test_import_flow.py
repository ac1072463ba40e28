"""The import in Chromium: upload a CSV, check the columns, preview, run it in a real Celery
worker, and read the report with the rejected rows."""

from __future__ import annotations

import pytest
from celery.contrib.testing.worker import start_worker

from config.celery import app
from tenants.actions import nation_create
from tests.browser.conftest import panel_login
from tests.conftest import PASSWORD, drop_nation, new_owner

from .test_signup_flow import SHOTS, committed

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

SLUG = "import-flow"
CSV = (
    "Prénom;Nom;Courriel;Téléphone;Code postal;Ville;Étiquettes\n"
    "Hélène;Dupont;helene@import.test;06 12 34 56 78;69001;Lyon;bénévole\n"
    "Jules;Martin;jules@import.test;;75011;Paris;donateur, bénévole\n"
    "Sans;Courriel;pas-un-courriel;;;;\n"
    "Amélie;Roux;amelie@import.test;07 98 76 54 32;13001;Marseille;\n"
).encode("latin-1")


def _seed() -> None:
    nation_create(
        name="Import Nation",
        slug=SLUG,
        country="FR",
        language="en",
        owner=new_owner("import.owner@example.org"),
    )


@pytest.fixture
def worker(django_db_blocker):
    with (
        django_db_blocker.unblock(),
        start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10),
    ):
        yield


def test_import_a_csv_from_upload_to_report(browser_page, worker):
    page, port = browser_page
    SHOTS.mkdir(parents=True, exist_ok=True)
    committed(_seed)
    try:
        base = f"http://{SLUG}.localhost:{port}"
        panel_login(page, base, "import.owner@example.org", PASSWORD)

        page.goto(f"{base}/panel/people/")
        page.locator(".page-head").get_by_role("link", name="Import").click()
        page.get_by_label("File").set_input_files(
            {"name": "adherents.csv", "mimeType": "text/csv", "buffer": CSV}
        )
        page.screenshot(path=str(SHOTS / "import-upload.png"))
        page.get_by_role("button", name="Upload and choose the columns").click()

        # Columns: the French headers are recognised, the latin-1 file and ";" are detected.
        assert page.get_by_role("heading", name="2. What does each column hold?").is_visible()
        assert page.get_by_label("Prénom").input_value() == "first_name"
        assert page.get_by_label("Courriel").input_value() == "email"
        assert page.get_by_label("Étiquettes").input_value() == "tags"
        assert page.get_by_text("separated by: semicolon").is_visible()
        page.get_by_label("Tag everyone in this file with").fill("import 2026")
        page.screenshot(path=str(SHOTS / "import-mapping.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(SHOTS / "import-mapping-phone.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})
        page.get_by_role("button", name="Preview the import").click()

        assert page.get_by_text("3 of the first 4 rows can be imported").is_visible()
        assert page.get_by_text("“pas-un-courriel” is not an email address").is_visible()
        assert page.locator("table.preview").get_by_text("+33612345678").is_visible()
        page.screenshot(path=str(SHOTS / "import-preview.png"), full_page=True)
        page.get_by_role("button", name="Start the import").click()

        # The worker runs it; the page polls and shows the report when it is done.
        page.wait_for_selector(".badge-done", timeout=30000)
        stats = page.locator(".stats").inner_text()
        assert "3\npeople added" in stats and "1\nrows rejected" in stats
        rejected = page.locator("table.rejections")
        assert rejected.get_by_text("“pas-un-courriel” is not an email address").is_visible()
        assert page.get_by_role("link", name="Download all as CSV").is_visible()
        page.screenshot(path=str(SHOTS / "import-report.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(SHOTS / "import-report-phone.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})

        page.get_by_role("link", name="See the people").click()
        assert page.get_by_role("link", name="Hélène Dupont").is_visible()
    finally:
        committed(drop_nation, SLUG)
