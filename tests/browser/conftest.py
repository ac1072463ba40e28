"""A live server on 127.0.0.1 serving every host (*.localhost resolves to loopback in Chromium),
and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import threading

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def live_url(django_db_setup, django_db_blocker):
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=False)
    server.set_app(StaticFilesHandler(WSGIHandler()))
    server.daemon_threads = True
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    with django_db_blocker.unblock():
        thread.start()
        yield port
        server.shutdown()
        server.server_close()


@pytest.fixture
def browser_page(live_url, settings, request):
    if not os.path.exists(CHROMIUM):
        if os.environ.get("NATIONS_REQUIRE_BROWSER"):
            pytest.fail(f"Chromium not found at {CHROMIUM}")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop
    from playwright.sync_api import sync_playwright

    # A test may add flags with @pytest.mark.chromium_args(...), e.g. a fake microphone.
    marker = request.node.get_closest_marker("chromium_args")
    extra = marker.args if marker else ()
    settings.PLATFORM_PORT = str(live_url)
    settings.RATELIMIT_ENABLE = False
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                *extra,
            ],
        )
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.set_default_timeout(15000)
        yield page, live_url
        context.close()
        browser.close()


def panel_login(page, base: str, email: str, password: str) -> None:
    """Log in to a nation's panel at `base` as a person would, and wait for the dashboard."""
    import re

    page.goto(f"{base}/panel/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r".*/panel/$"))
