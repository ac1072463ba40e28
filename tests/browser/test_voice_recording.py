"""A voice broadcast recorded in the panel: Chromium's fake microphone (a beeping tone) records
about two seconds, the take is played back, saved with the draft as a WAV, and the server stores
a real 8 kHz mono PCM WAV of that length in the nation's own media folder."""

from __future__ import annotations

import re
import time
import wave

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from tenants.actions import nation_create
from tests.browser.conftest import panel_login
from tests.conftest import PASSWORD, new_owner

from .test_signup_flow import SHOTS, committed

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db,
    pytest.mark.chromium_args(
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"
    ),
]

SLUG = "voice-rec"


def _seed() -> None:
    from datetime import time as clock

    from nations.comms.models import TwilioAccount

    nation = nation_create(
        name="Voice Nation", slug=SLUG, country="FR", language="en",
        owner=new_owner("voice.owner@example.org"), plan="campaign",
    )  # fmt: skip
    with schema_context(nation.schema_name):
        connection.set_tenant(nation)
        TwilioAccount.objects.create(quiet_start=clock(0), quiet_end=clock(0))
    connection.set_schema_to_public()


def _stored_audio() -> dict:
    from django.core.files.storage import default_storage

    from nations.comms.models import Blast
    from tenants.models import Nation

    nation = Nation.objects.get(slug=SLUG)
    with schema_context(nation.schema_name):
        blast = Blast.objects.get(channel="voice")
        path = default_storage.path(blast.audio.name)
        with default_storage.open(blast.audio.name) as file, wave.open(file) as wav:
            facts = {
                "schema": nation.schema_name,
                "name": blast.audio.name,
                "path": path,
                "rate": wav.getframerate(),
                "channels": wav.getnchannels(),
                "width": wav.getsampwidth(),
                "seconds": wav.getnframes() / wav.getframerate(),
            }
        default_storage.delete(blast.audio.name)
    connection.set_schema_to_public()
    return facts


def _drop() -> None:
    from tests.conftest import drop_nation

    drop_nation(SLUG)


def test_a_staff_member_records_the_voice_message_in_the_browser(browser_page, settings):
    page, port = browser_page
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "AC" + "7" * 32, "voice-token"
    settings.TWILIO_FROM = "+33756000001"
    SHOTS.mkdir(parents=True, exist_ok=True)
    committed(_seed)
    try:
        base = f"http://{SLUG}.localhost:{port}"
        page.context.grant_permissions(["microphone"], origin=base)
        panel_login(page, base, "voice.owner@example.org", PASSWORD)
        page.goto(f"{base}/panel/communication/texts/voice/new/")
        page.get_by_label("Internal name").fill("Rally reminder")
        page.get_by_label("Everyone with consent").check()

        status = page.get_by_role("status").filter(has_text=re.compile("."))
        record = page.get_by_role("button", name="Record", exact=True)
        record.click()
        stop = page.get_by_role("button", name="Stop")
        page.get_by_text("Recording. Speak now, then press Stop.").wait_for()
        assert stop.evaluate("b => b === document.activeElement")  # keyboard: Space stops
        started = time.monotonic()
        page.get_by_role("timer").filter(has_text="0:01").wait_for()
        page.screenshot(path=str(SHOTS / "voice-recording.png"), full_page=True)
        page.wait_for_timeout(max(0, 2200 - (time.monotonic() - started) * 1000))
        stop.click()

        page.get_by_text(re.compile(r"Recording ready \(0:0[123]\)")).wait_for()
        assert "saved with the draft" in status.inner_text()
        playback = page.locator("audio[data-playback]")
        assert playback.is_visible()
        seconds = playback.evaluate(
            "a => a.readyState >= 1 ? a.duration : new Promise("
            "r => a.addEventListener('loadedmetadata', () => r(a.duration)))"
        )
        assert 1.5 < seconds < 3.5
        attached = page.locator("#id_audio").evaluate(
            "i => i.files.length ? [i.files[0].name, i.files[0].size, i.files[0].type] : null"
        )
        assert attached and attached[0].endswith(".wav") and attached[2] == "audio/wav"
        assert page.get_by_role("button", name="Record again").is_visible()
        assert page.get_by_role("button", name="Remove recording").is_visible()
        # Leaving with a take not saved: the browser asks first (the page cancels the unload).
        leaving = "() => { const e = new Event('beforeunload', {cancelable: true});"
        leaving += " window.dispatchEvent(e); return e.defaultPrevented; }"
        assert page.evaluate(leaving)
        page.screenshot(path=str(SHOTS / "voice-recorded.png"), full_page=True)
        page.set_viewport_size({"width": 375, "height": 812})
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        page.screenshot(path=str(SHOTS / "voice-recorded-phone.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})

        page.get_by_role("button", name="Save draft").click()
        page.wait_for_url(re.compile(r".*/texts/blast/\d+/$"))
        page.get_by_text("Draft saved.").wait_for()
        saved = page.get_by_role("group", name="Audio message").locator(".recorder-current audio")
        assert saved.is_visible()
        head = page.evaluate(
            "src => fetch(src).then(r => r.arrayBuffer())"
            ".then(b => String.fromCharCode(...new Uint8Array(b.slice(0, 4))))",
            saved.get_attribute("src"),
        )
        assert head == "RIFF"
        page.screenshot(path=str(SHOTS / "voice-saved.png"), full_page=True)

        stored: dict = {}
        committed(lambda: stored.update(_stored_audio()))
        assert (stored["rate"], stored["channels"], stored["width"]) == (8000, 1, 2)
        assert 1.5 < stored["seconds"] < 3.5, stored
        assert stored["name"].startswith("voice/") and stored["name"].endswith(".wav")
        # Under the nation's own folder, like uploaded files (MEDIA_ROOT/<schema>/voice/…).
        assert f"/{stored['schema']}/voice/" in stored["path"]
    finally:
        committed(_drop)


@pytest.mark.chromium_args("--use-fake-device-for-media-stream")
def test_a_refused_microphone_says_why_and_leaves_the_upload_field(browser_page, settings):
    page, port = browser_page
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "AC" + "7" * 32, "voice-token"
    settings.TWILIO_FROM = "+33756000001"
    committed(_seed)
    try:
        base = f"http://{SLUG}.localhost:{port}"
        page.context.grant_permissions([], origin=base)  # headless: the prompt is dismissed
        panel_login(page, base, "voice.owner@example.org", PASSWORD)
        page.goto(f"{base}/panel/communication/texts/voice/new/")
        page.get_by_role("button", name="Record", exact=True).click()
        page.get_by_role("status").get_by_text("Microphone access was refused.").wait_for()
        assert page.get_by_role("button", name="Record", exact=True).is_visible()
        assert not page.get_by_role("button", name="Stop").is_visible()
        assert page.get_by_label("Upload an audio file").is_enabled()
    finally:
        committed(_drop)
