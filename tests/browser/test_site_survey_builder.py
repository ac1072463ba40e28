"""A survey built in the panel's question builder, with an image uploaded from inside the
rich-text editor, answered by a visitor on a phone; the answers are in the responses."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image

from tests.browser.test_signup_flow import committed
from tests.conftest import PASSWORD, drop_nation

pytestmark = [pytest.mark.browser, pytest.mark.django_db]
SHOTS = Path(os.environ.get("NATIONS_SCREENSHOTS", ".dev/screenshots"))


def _make_nation():
    from tenants.actions import Owner, nation_create

    nation_create(
        name="Quartier Vert",
        slug="quartier-vert",
        country="FR",
        language="en",
        owner=Owner(full_name="Sam Staff", email="sam@vert.example", password=PASSWORD),
    )


def _png(path: Path) -> Path:
    out = io.BytesIO()
    Image.new("RGB", (1200, 600), (40, 120, 80)).save(out, "PNG")
    path.write_bytes(out.getvalue())
    return path


def _add_question(page, label: str, kind: str, options: str = "", required=False):
    builder = page.locator("#survey-builder .q-new")
    builder.get_by_label("Question").fill(label)
    builder.get_by_label("Type").select_option(kind)
    if options:
        builder.get_by_label("Options").fill(options)
    if required:
        builder.get_by_label("Required").check()
    builder.get_by_role("button", name="Add the question").click()
    page.locator(".q-notice", has_text="Question added.").wait_for()


def test_build_a_survey_with_an_editor_image_and_answer_it_on_a_phone(
    browser_page, tmp_path, settings
):
    page, port = browser_page
    settings.MEDIA_ROOT = str(tmp_path / "media")
    SHOTS.mkdir(parents=True, exist_ok=True)
    base = f"http://quartier-vert.localhost:{port}"
    committed(drop_nation, "quartier-vert")
    committed(_make_nation)
    try:
        page.goto(f"{base}/panel/login/")
        page.get_by_label("Email").fill("sam@vert.example")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{base}/panel/")

        page.goto(f"{base}/panel/website/pages/new/?kind=survey")
        page.get_by_label("Title").fill("Our park")
        page.get_by_role("button", name="Create the draft").click()
        assert page.get_by_text("No questions yet").is_visible()

        # The text, with an image uploaded from the editor's dialog.
        page.locator(".rte-box").click()
        page.keyboard.type("Tell us what the park needs. ")
        page.get_by_role("button", name="Image").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_label("Upload an image").set_input_files(str(_png(tmp_path / "park.png")))
        dialog.get_by_role("button", name="Upload and insert").click()
        assert dialog.get_by_role("alert").inner_text() == "Write the alternative text."
        dialog.get_by_label("Alternative text").fill("Children playing in the park")
        page.screenshot(path=str(SHOTS / "site-editor-image-dialog.png"))
        dialog.get_by_role("button", name="Upload and insert").click()
        page.locator(".rte-box img[alt='Children playing in the park']").wait_for()
        page.get_by_role("button", name="Save", exact=True).first.click()

        # Questions, built one by one; a choice question with one option is refused in place.
        _add_question(page, "What is missing?", "long", required=True)
        builder = page.locator("#survey-builder .q-new")
        builder.get_by_label("Question").fill("How often do you come?")
        builder.get_by_label("Type").select_option("single")
        builder.get_by_label("Options").fill("Every day")
        builder.get_by_role("button", name="Add the question").click()
        page.get_by_text("A choice question needs at least two options.").wait_for()
        builder = page.locator("#survey-builder .q-new")
        builder.get_by_label("Options").fill("Every day\nEvery week\nRarely")
        builder.get_by_role("button", name="Add the question").click()
        page.locator(".q-notice", has_text="Question added.").wait_for()
        # Move the choice question first.
        page.locator(".q-card").nth(1).get_by_role("button", name="Up").click()
        page.locator(".q-notice", has_text="Question moved.").wait_for()
        assert page.locator(".q-card .q-title").all_inner_texts() == [
            "How often do you come?",
            "What is missing?",
        ]
        page.screenshot(path=str(SHOTS / "site-survey-builder.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(SHOTS / "site-survey-builder-phone.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})
        page.get_by_role("button", name="Publish").first.click()
        assert page.locator(".badge-active").first.is_visible()

        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{base}/our-park/")
        assert page.get_by_role("img", name="Children playing in the park").is_visible()
        page.get_by_label("First name").fill("Léa")
        page.get_by_role("textbox", name="Email").fill("lea@example.org")
        page.get_by_label("Every week").check()
        page.get_by_label("What is missing?").fill("Benches in the shade")
        page.screenshot(path=str(SHOTS / "site-survey-phone.png"), full_page=True)
        page.get_by_role("button", name="Send my answers").click()
        assert page.get_by_role("heading", name="Thank you!").is_visible()

        page.set_viewport_size({"width": 1280, "height": 800})
        page.goto(f"{base}/panel/website/")
        page.get_by_role("link", name="Our park").click()
        page.get_by_role("link", name="1 response").click()
        assert page.get_by_text("Benches in the shade").is_visible()
        assert page.get_by_text("Every week").is_visible()
        page.screenshot(path=str(SHOTS / "site-survey-responses.png"), full_page=True)
        # On a phone the table stacks, each row a card: nothing to scroll sideways.
        page.set_viewport_size({"width": 390, "height": 844})
        assert page.locator("table thead").is_hidden()
        assert page.get_by_text("Benches in the shade").is_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways ({width}px)"
        page.screenshot(path=str(SHOTS / "site-survey-responses-phone.png"), full_page=True)
        page.goto(f"{base}/panel/website/")
        assert page.locator("table thead").is_hidden()
        page.screenshot(path=str(SHOTS / "site-pages-phone.png"), full_page=True)
    finally:
        committed(drop_nation, "quartier-vert")
