"""The exactly-once kill test (issue 7): a real Celery worker process sends a blast to a real
SMTP sink and is killed with SIGKILL mid-blast; the reaper settles what it left in `sending`
(journal: handed over -> sent, else queued again), a second worker finishes, and the sink has
received every recipient's message exactly once (counted by Message-ID).

Committed data (the workers are other processes): the test removes what it made."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Count
from django_tenants.utils import schema_context

from nations.comms import actions
from nations.comms.models import Blast, Broadcaster, Delivery, DeliveryEvent
from nations.comms.tasks import tick_nation
from nations.people.models import Activity, Person, Segment

ROOT = Path(__file__).resolve().parents[2]
SIZE = int(os.environ.get("COMMS_KILL_SIZE", "8000"))  # under the starter plan's 10k emails


def start_worker(port: int, journal: Path, name: str, backend: str = "file") -> subprocess.Popen:
    env = {
        "COMMS_JOURNAL": backend,
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "NATIONS_DB_NAME_OVERRIDE": connection.settings_dict["NAME"],
        "COMMS_SMTP_HOST": "127.0.0.1",
        "COMMS_SMTP_PORT": str(port),
        "COMMS_JOURNAL_DIR": str(journal),
        "COMMS_PUMPS": "1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "-l", "warning",
         "-n", f"{name}@%h", "--without-heartbeat", "--without-gossip", "--without-mingle"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(journal.parent / f"{name}.log", "wb"),  # noqa: SIM115
    )  # fmt: skip


def wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def crowd(world, django_db_blocker):
    from billing.models import UsageMeter

    nation = world.alpha.nation
    with django_db_blocker.unblock(), schema_context(nation.schema_name):
        UsageMeter.objects.filter(nation=nation).delete()  # committed runs add up otherwise
        # Messages other committed tests left queued in alpha (autoresponses) would be sent too.
        Delivery.objects.all().delete()
        connection.set_tenant(nation)
        Person.objects.bulk_create(
            (Person(first_name=f"K{i}", email=f"k{i}@kill.test", email_consent="granted", city="Killville")
             for i in range(SIZE)),
            batch_size=5000,
        )  # fmt: skip
        segment = Segment.objects.create(
            name="Killville",
            definition={"conditions": [{"field": "city", "op": "eq", "value": "Killville"}]},
        )
        assert Person.objects.filter(city="Killville").count() == SIZE
        try:
            yield nation, segment
        finally:
            connection.set_tenant(nation)
            DeliveryEvent.objects.all().delete()
            Delivery.objects.all().delete()
            Blast.objects.all().delete()
            Broadcaster.objects.all().delete()
            Activity.objects.filter(person__city="Killville").delete()
            Person.objects.filter(city="Killville").delete()
            segment.delete()
            connection.set_schema_to_public()
            UsageMeter.objects.filter(nation=nation).delete()


@pytest.mark.parametrize("backend", ["file", "redis"])
def test_sigkill_mid_blast_then_reap_and_resume_sends_each_message_exactly_once(
    crowd, _sink_server, tmp_path, settings, backend
):
    nation, segment = crowd
    controller, sink = _sink_server
    sink.clear()
    sink.keep = False
    journal = tmp_path / "journal"
    settings.COMMS_JOURNAL = backend
    # The reaper (here) reads the workers' journals: their folder, or, with the shared Redis
    # journal, Redis only, as a reaper on another host would (it cannot see their disk).
    settings.COMMS_JOURNAL_DIR = journal if backend == "file" else tmp_path / "elsewhere"
    first = start_worker(controller.port, journal, "first", backend)
    second = None
    try:
        with schema_context(nation.schema_name):
            connection.set_tenant(nation)
            broadcaster = actions.broadcaster_save(
                name="Kill test", from_email="kill@alpha.example"
            )
            blast = actions.blast_save(
                broadcaster=broadcaster, subject="Hi {{ person.first_name }}",
                body_html="<p>Hello {{ person.first_name }}</p>", audience="segment", segment=segment,
            )  # fmt: skip
            actions.blast_send(
                blast=blast, nation=nation
            )  # autocommit: the snapshot task leaves now
            wait(lambda: sum(sink.ids.values()) >= SIZE // 4, 90, "a quarter of the blast")
            first.send_signal(signal.SIGKILL)
            assert Blast.objects.get(pk=blast.pk).total == SIZE
            first.wait(10)
            in_flight = Delivery.objects.filter(status="sending").count()
            assert 0 < sum(sink.ids.values()) < SIZE, "killed mid-blast"

            result = tick_nation(reap_after=0)  # the reaper and the pump restart, as beat runs them
            assert result["reaped"]["sent"] + result["reaped"]["queued"] == in_flight
            assert result["pumps"] == 1
            second = start_worker(controller.port, journal, "second", backend)
            try:
                wait(
                    lambda: Blast.objects.get(pk=blast.pk).status == "sent",
                    300,  # 2 shared CPUs under other engineers' load: slow, not stuck
                    "the blast to finish",
                )
            except AssertionError:
                print("SECOND LOG", (tmp_path / "second.log").read_text()[-6000:])
                print("FIRST LOG", (tmp_path / "first.log").read_text()[-3000:])
                print(
                    list(
                        Delivery.objects.values_list("status", "error", "attempts", "claimed_by")
                        .annotate(n=Count("id"))
                        .order_by()
                    )
                )
                raise

            blast.refresh_from_db()
            assert (blast.total, blast.sent_count, blast.failed_count) == (SIZE, SIZE, 0)
            expected = set(
                Delivery.objects.filter(blast=blast).values_list("message_id", flat=True)
            )
            assert len(expected) == SIZE
            wait(lambda: sum(sink.ids.values()) >= SIZE, 10, "the last messages at the sink")
            duplicates = {mid: n for mid, n in sink.ids.items() if n > 1}
            assert not duplicates, f"{len(duplicates)} recipients got a message twice"
            assert set(sink.ids) == expected  # nobody missed, nothing unknown
            assert Delivery.objects.filter(blast=blast).exclude(status="sent").count() == 0
            from billing.meters import meter_value

            assert meter_value(nation, "emails") == SIZE  # each message metered once
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
        sink.keep = True
        if backend == "redis":  # the killed worker's journal must not outlive this test
            from nations.comms.journal import REDIS_PREFIX
            from nations.comms.rate import client

            for key in client().scan_iter(match=REDIS_PREFIX + "*"):
                client().delete(key)
