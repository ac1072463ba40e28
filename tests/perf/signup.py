"""Signup to live: the path a visitor takes, through Django's test Client as a browser would.

One cookie jar per host, as a browser keeps host-only cookies (the platform's csrftoken never
reaches the nation's host), CSRF checks enforced, redirects followed across hosts by sending
the new Host header."""

from __future__ import annotations

import re
import time
from collections import defaultdict
from urllib.parse import urljoin, urlsplit

from django.conf import global_settings
from django.test import Client, override_settings

from .report import Report, percentile, summary_ms

PLATFORM_HOST = "localhost"
PASSWORD = "Glacier-mosaic-tangent-42"
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class BrokenPath(AssertionError):
    """The user path did not behave as a user would see it work: the figure would be wrong."""


class Browser:
    def __init__(self) -> None:
        self.jars: dict[str, Client] = {}
        self.shared_cookie_domains: set[str] = set()

    def _client(self, hostname: str) -> Client:
        if hostname not in self.jars:
            self.jars[hostname] = Client(enforce_csrf_checks=True)
        return self.jars[hostname]

    def request(self, method: str, url: str, data: dict | None = None, *, hops: int = 5):
        """(final response, final URL); redirects are followed with GET, like a browser."""
        for _ in range(hops + 1):
            parts = urlsplit(url)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            client = self._client(parts.hostname or "")
            secure = parts.scheme == "https"
            if method == "POST":
                response = client.post(
                    target, data or {}, HTTP_HOST=parts.netloc, secure=secure, HTTP_REFERER=url
                )
            else:
                response = client.get(target, HTTP_HOST=parts.netloc, secure=secure)
            for morsel in response.cookies.values():
                if morsel["domain"]:
                    self.shared_cookie_domains.add(f"{morsel.key}={morsel['domain']}")
            if response.status_code not in (301, 302, 303, 307, 308):
                return response, url
            url, method, data = urljoin(url, response["Location"]), "GET", None
        raise BrokenPath(f"more than {hops} redirects from {url}")


def _expect(response, status: int, what: str) -> None:
    if response.status_code != status:
        raise BrokenPath(f"{what}: HTTP {response.status_code}, expected {status}")


def signup_once(index: int, steps: dict[str, list[float]]) -> float:
    browser = Browser()
    slug = f"bench-signup-{index:03d}"
    started = time.perf_counter()

    response, _url = browser.request("GET", f"http://{PLATFORM_HOST}/signup/")
    _expect(response, 200, "GET /signup/")
    match = CSRF_RE.search(response.content.decode())
    if not match:
        raise BrokenPath("the signup form has no CSRF token")
    form_at = time.perf_counter()

    # POST, then follow the redirect to <slug>.localhost/panel/welcome/?t=... (login ticket),
    # which redirects to /panel/.
    response, url = browser.request(
        "POST",
        f"http://{PLATFORM_HOST}/signup/",
        {
            "csrfmiddlewaretoken": match.group(1),
            "name": f"Bench Nation {index}",
            "slug": slug,
            "full_name": f"Bench Owner {index}",
            "email": f"owner{index}@bench.example",
            "password": PASSWORD,
            "country": "FR",
            "language": "en",
        },
    )
    parts = urlsplit(url)
    if parts.hostname != f"{slug}.{PLATFORM_HOST}" or parts.path != "/panel/":
        raise BrokenPath(
            f"signup ended at {url} with HTTP {response.status_code}, "
            f"expected http://{slug}.{PLATFORM_HOST}…/panel/"
        )
    _expect(response, 200, "GET /panel/ after the welcome ticket")
    panel_at = time.perf_counter()

    response, _url = browser.request("GET", urljoin(url, "/"))
    _expect(response, 200, "GET / on the nation's public site")
    live_at = time.perf_counter()

    if browser.shared_cookie_domains:
        raise BrokenPath(f"cookies set with a Domain attribute: {browser.shared_cookie_domains}")
    steps["get_form"].append(form_at - started)
    steps["post_to_panel"].append(panel_at - form_at)
    steps["public_site"].append(live_at - panel_at)
    return live_at - started


def bench_signup(report: Report, *, runs: int = 20) -> None:
    steps: dict[str, list[float]] = defaultdict(list)
    # The real password hasher (settings.test uses MD5 to keep the suite fast), and no rate
    # limit (20 signups from one IP within a minute are the point here).
    with override_settings(
        PASSWORD_HASHERS=global_settings.PASSWORD_HASHERS, RATELIMIT_ENABLE=False
    ):
        signup_once(0, defaultdict(list))  # warm-up: first template loads, first clone script
        samples = [signup_once(i, steps) for i in range(1, runs + 1)]
    context = {
        **summary_ms(samples),
        "password_hasher": global_settings.PASSWORD_HASHERS[0],
        "steps_p50_ms": {
            name: round(percentile(values, 50) * 1000, 1) for name, values in steps.items()
        },
        "what": "GET /signup/ -> POST -> 302 to <slug>.localhost/panel/welcome/?t= -> 302 "
        "/panel/ 200 -> GET / 200 (Django test Client, per-host cookies, CSRF on)",
    }
    report.add("signup_to_live_p50", percentile(samples, 50) * 1000, "ms", **context)
    report.add("signup_to_live_p95", percentile(samples, 95) * 1000, "ms", **context)
