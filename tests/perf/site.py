"""The public site under load: a cached page GET and a petition signature POST, each beside a
bare hello-world view served the same way (same gunicorn, middleware and host routing).

A real HTTP server: gunicorn (gthread) on 127.0.0.1, started here with the bench database; load
from this process with keep-alive connections in a few threads, bounded in time and in count."""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

from .report import Report, percentile

HOST = "bench-site.localhost"
WORKERS, THREADS = 2, 4
CLIENTS = 8
SECONDS = 6.0
MAX_REQUESTS = 20_000


class BrokenPath(AssertionError):
    pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _setup() -> None:
    from django.db import transaction
    from django_tenants.utils import tenant_context

    from nations.site.actions import page_publish, page_save
    from nations.site.models import Page
    from tenants.actions import Owner, nation_create
    from tenants.models import Nation

    if Nation.objects.filter(slug="bench-site").exists():
        return
    with transaction.atomic():
        nation = nation_create(
            name="Bench Site",
            slug="bench-site",
            country="FR",
            language="en",
            owner=Owner(full_name="Bench", email="bench-site@bench.example", password="x" * 12),
        )
    with tenant_context(nation):
        for spec in (
            {
                "kind": "basic",
                "slug": "about",
                "title": "About us",
                "body": "<p>" + "Lorem ipsum. " * 200 + "</p>",
            },
            {
                "kind": "petition",
                "slug": "sign",
                "title": "Sign this",
                "goal": 100000,
                "tags": ["bench"],
            },
        ):
            page_publish(page=page_save(page=Page(), data=spec))


def _start_worker(smtp_port: int) -> subprocess.Popen:
    """The Celery worker that records the signatures the form intake accepted, at a lower
    priority than the web server (as a deployment would run it: visitors first)."""
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="tests.perf.site_settings",
        BENCH_SMTP_PORT=str(smtp_port),
    )
    return subprocess.Popen(
        [
            "nice", "-n", "10", sys.executable, "-m", "celery", "-A", "config", "worker",
            "--pool", "solo", "-l", "warning", "--without-heartbeat", "--without-gossip",
            "--without-mingle",
        ],
        env=env,
    )  # fmt: skip


def _bench_schema() -> str:
    from tenants.models import Nation

    return Nation.objects.get(slug="bench-site").schema_name


def _waiting() -> int:
    from django_tenants.utils import schema_context

    from nations.site.models import Intake

    with schema_context(_bench_schema()):
        return Intake.objects.filter(processed_at__isnull=True).count()


def _intakes() -> int:
    """Rows the intake has taken so far (its id sequence: recorded rows may be deleted)."""
    from django.db import connection
    from django_tenants.utils import schema_context

    with schema_context(_bench_schema()), connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence('site_intake', 'id')")
        (sequence,) = cursor.fetchone()
        cursor.execute(f"SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {sequence}")
        return cursor.fetchone()[0]


def _start_server(port: int) -> subprocess.Popen:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="tests.perf.site_settings",
        # The limits still run on every POST (a Redis counter each); set high enough that one
        # loopback client is not turned away.
        SITE_FORM_IP_RATE="100000000/m",
        SITE_FORM_PAGE_RATE="100000000/m",
    )
    server = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "config.wsgi:application",
            "--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS), "--threads", str(THREADS),
            "--worker-class", "gthread", "--keep-alive", "30", "--log-level", "warning",
        ],
        env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/__hello__/", headers={"Host": HOST})
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise BrokenPath("gunicorn did not answer within 30 s")


def _process_cpu(server: subprocess.Popen) -> float:
    """CPU seconds used so far by gunicorn's master and workers (user + system, from /proc):
    the figure that stays meaningful when other work shares the machine."""
    total = 0.0
    try:
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    except OSError:
        children = []
    for pid in [server.pid, *map(int, children)]:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _load(port: int, make_request, expect: int) -> tuple[list[float], float]:
    """Latencies (s) and elapsed wall time of CLIENTS threads hammering for SECONDS."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + SECONDS
    counter = iter(range(MAX_REQUESTS))

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine = []
        while time.monotonic() < stop_at:
            try:
                n = next(counter)
            except StopIteration:
                break
            method, path, body, headers = make_request(n)
            started = time.perf_counter()
            conn.request(method, path, body=body, headers={"Host": HOST, **headers})
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            if response.status != expect:
                errors.append(f"{method} {path}: HTTP {response.status}")
                break
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(CLIENTS)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(SECONDS + 30)
    elapsed = time.perf_counter() - began
    if errors:
        raise BrokenPath(errors[0])
    return latencies, elapsed


def _figures(
    report: Report, name: str, latencies: list[float], elapsed: float, cpu: float, **context
) -> None:
    context = {
        "requests": len(latencies),
        "clients": CLIENTS,
        "gunicorn": f"{WORKERS}x{THREADS} gthread",
        **context,
    }
    report.add(f"{name}_rps", len(latencies) / elapsed, "req/s", **context)
    report.add(f"{name}_p50", percentile(latencies, 50) * 1000, "ms", **context)
    report.add(f"{name}_p99", percentile(latencies, 99) * 1000, "ms", **context)
    report.add(f"{name}_server_cpu", cpu / len(latencies) * 1e6, "us", **context)


def _measured(server, port, make_request, expect):
    before = _process_cpu(server)
    latencies, elapsed = _load(port, make_request, expect)
    return latencies, elapsed, _process_cpu(server) - before


def bench_site(report: Report) -> None:
    _setup()
    port = _free_port()
    server = _start_server(port)
    smtp_port = _free_port()
    sink = subprocess.Popen(
        [sys.executable, "-m", "tests.perf.comms_sink", str(smtp_port)], stdout=subprocess.PIPE
    )
    sink.stdout.readline()  # "ready"
    worker = _start_worker(smtp_port)
    try:
        get = lambda path: lambda n: ("GET", path, None, {})  # noqa: E731
        _load(port, get("/about/"), 200)  # warm-up: fills the page cache, loads templates
        lat, took, cpu = _measured(server, port, get("/__hello__/"), 200)
        _figures(report, "site_hello_get", lat, took, cpu, what="bare Django view, same stack")
        lat, took, cpu = _measured(server, port, get("/about/"), 200)
        _figures(
            report,
            "site_cached_page",
            lat,
            took,
            cpu,
            what="GET /about/ from the per-nation page cache",
        )

        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/sign/", headers={"Host": HOST})
        html = conn.getresponse().read().decode()
        match = re.search(r'name="form_token" value="([^"]+)"', html)
        if not match:
            raise BrokenPath("the petition page has no form token")
        token = match.group(1)
        run = uuid.uuid4().hex[:8]

        def sign(n):
            body = urlencode(
                {
                    "form_token": token,
                    "nonce": f"{run}-{n}",
                    "first_name": "Signer",
                    "last_name": f"N{n}",
                    "email": f"signer-{run}-{n}@bench.example",
                    "city": "Lyon",
                    "consent": "on",
                }
            )
            return "POST", "/sign/", body, {"Content-Type": "application/x-www-form-urlencoded"}

        post_headers = {"Content-Type": "application/x-www-form-urlencoded"}
        hello_post = lambda n: ("POST", "/__hello_post__/", "a=1", post_headers)  # noqa: E731
        lat, took, cpu = _measured(server, port, hello_post, 200)
        _figures(
            report, "site_hello_post", lat, took, cpu, what="bare Django POST view, same stack"
        )
        intakes_before, worker_before = _intakes(), _process_cpu(worker)
        began = time.perf_counter()
        lat, took, cpu = _measured(server, port, sign, 303)
        _figures(
            report,
            "site_petition_sign",
            lat,
            took,
            cpu,
            what="POST a new signature -> 303: recorded at once (new person, tags, consent,"
            " timeline, email queued), or under a burst accepted into the form intake",
        )
        # Every signature recorded in the people base: the intake worker works off what the
        # burst left (it ran during the load too, at a lower priority than the web server).
        deadline = time.monotonic() + 300
        while _waiting() and time.monotonic() < deadline:
            time.sleep(0.05)
        if _waiting():
            raise BrokenPath("the intake worker did not record every signature within 300 s")
        recorded_in = time.perf_counter() - began
        queued = _intakes() - intakes_before
        context = {
            "signatures": len(lat),
            "through_intake": queued,
            "worker": "celery solo, nice 10",
        }
        report.add(
            "site_petition_sign_recorded_per_s", len(lat) / recorded_in, "signatures/s", **context
        )
        report.add("site_petition_sign_through_intake", queued / len(lat) * 100, "%", **context)
        report.add(
            "site_petition_sign_worker_cpu",
            (_process_cpu(worker) - worker_before) / len(lat) * 1e6,
            "us",
            **context,
        )
    finally:
        worker.terminate()
        try:
            worker.wait(30)  # a warm shutdown: the task it runs ends before the stack stops
        except subprocess.TimeoutExpired:
            worker.kill()
        sink.terminate()
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
