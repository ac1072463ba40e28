"""The test harness.

The test database is migrated once per session (public schema + the nation template, through
our `migrate` = `migrate_schemas`). `world` then creates two committed nations, alpha and bravo,
each with private marker rows; tests run inside a transaction that is rolled back (`db`), so
they can create more nations (a clone is cheap, and DDL rolls back too) without cleanup.

Real parts: PostgreSQL and Redis (the embedded stack or DATABASE_URL/REDIS_URL), an SMTP
server (aiosmtpd) and a DNS server (dnslib) on 127.0.0.1, a Celery worker thread.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field

import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from nations.people.actions import person_upsert
from nations.people.models import Person
from tenants.actions import Owner, nation_create
from tenants.models import Membership, Nation, User
from tenants.provisioning import drop_schema

PASSWORD = "correct-horse-battery-staple"


@dataclass
class NationWorld:
    nation: Nation
    owner: User
    staff: User
    markers: list[Person] = field(default_factory=list)

    @property
    def host(self) -> str:
        return f"{self.nation.slug}.localhost"

    @property
    def marker_strings(self) -> list[str]:
        return [s for p in self.markers for s in (p.email, p.first_name, p.last_name)]


@dataclass
class World:
    alpha: NationWorld
    bravo: NationWorld


def _make_nation(slug: str, markers: int) -> NationWorld:
    owner = User.objects.create_user(
        email=f"owner@{slug}.example", password=PASSWORD, full_name=f"Owner {slug.title()}"
    )
    nation = nation_create(
        name=f"{slug.title()} Nation", slug=slug, country="FR", language="en", owner=owner
    )
    staff = User.objects.create_user(
        email=f"staff@{slug}.example", password=PASSWORD, full_name=f"Staff {slug.title()}"
    )
    Membership.objects.create(
        user=staff, nation=nation, role=Membership.Role.STAFF, permissions=["people.view"]
    )
    world = NationWorld(nation=nation, owner=owner, staff=staff)
    with schema_context(nation.schema_name):
        for i in range(markers):
            tag = f"MARKER{slug.upper()}{i}"
            person, _ = person_upsert(
                data={"first_name": f"{tag}first", "last_name": f"{tag}last", "city": "Lyon"},
                email=f"{tag.lower()}@private.example",
                phone=f"+3361234567{i}",
                source="test",
            )
            world.markers.append(person)
    return world


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker):
    """The test database, always: pytest-django creates it only when a collected test carries
    the django_db mark, but tests that commit through other processes (live server, Celery
    workers) use `world` without that mark."""
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock():
        config = setup_databases(
            verbosity=request.config.option.verbose,
            interactive=False,
            aliases={"default"},
            serialized_aliases=set(),
        )
    yield
    with django_db_blocker.unblock():
        try:
            teardown_databases(config, verbosity=request.config.option.verbose)
        except Exception as exc:  # noqa: BLE001 - report, do not fail the run at teardown
            import warnings

            warnings.warn(f"could not tear down the test database: {exc!r}", stacklevel=1)


@pytest.fixture(scope="session", autouse=True)
def _no_stray_connections_at_the_end(django_db_setup, django_db_blocker):
    """Live-server and worker threads may leave connections open; the test database can only
    be dropped without them."""
    yield
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(scope="session")
def world(django_db_setup, django_db_blocker) -> World:
    with django_db_blocker.unblock():
        alpha = _make_nation("alpha", markers=1)
        bravo = _make_nation("bravo", markers=2)
    return World(alpha=alpha, bravo=bravo)


@pytest.fixture
def alpha(world, db) -> NationWorld:
    world.alpha.nation.refresh_from_db()
    return world.alpha


@pytest.fixture
def bravo(world, db) -> NationWorld:
    world.bravo.nation.refresh_from_db()
    return world.bravo


@pytest.fixture
def eager_tasks():
    """Celery tasks run in-process when enqueued (a pump sends its mail straight to the SMTP
    server); wrap the action in django_capture_on_commit_callbacks(execute=True)."""
    from config.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def _fresh_state_between_tests():
    from django.core.cache import cache

    cache.clear()  # rate-limit counters and cached values of one test never leak into the next
    yield
    connection.set_schema_to_public()


def client_for(host: str, user: User | None = None, nation: Nation | None = None) -> Client:
    """A browser on `host`; logged in as `user` with a session stored in `nation`'s schema
    (sessions live per schema, exactly as a real login on that host would make them)."""
    client = Client(HTTP_HOST=host)
    if user is not None:
        if nation is None:
            client.force_login(user)
        else:
            with schema_context(nation.schema_name):
                client.force_login(user)
    return client


@pytest.fixture
def platform_client(db) -> Client:
    return Client(HTTP_HOST="localhost")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """Messages received by the local SMTP server."""

    def __init__(self) -> None:
        self.messages: list = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook
        from email import message_from_bytes, policy

        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list:
        with self.lock:
            return [m for m in self.messages if address in m["To"]]

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()


@pytest.fixture(scope="session")
def _smtp_server():
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, mailbox
    controller.stop()


@pytest.fixture
def mailbox(_smtp_server, settings) -> Mailbox:
    """Real SMTP: Django's SMTP backend talks to an aiosmtpd server on 127.0.0.1."""
    controller, mailbox = _smtp_server
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    mailbox.clear()
    return mailbox


def drop_nation(slug: str) -> None:
    """Remove a nation committed by a test that could not run in a transaction."""
    nation = Nation.objects.filter(slug=slug).first()
    if nation is not None:
        drop_schema(nation.schema_name)
        users = [m.user_id for m in nation.memberships.all()]
        nation.delete()
        User.objects.filter(pk__in=users, memberships__isnull=True, is_superuser=False).delete()


def new_owner(email: str = "new.owner@example.org") -> Owner:
    return Owner(full_name="New Owner", email=email, password=PASSWORD)
