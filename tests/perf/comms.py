"""Email pipeline benchmarks (nations/comms).

- `comms_snapshot_1m_s`: a blast's audience (1M people, all with email consent) written as
  delivery rows — the set-based INSERT … SELECT over id ranges.
- `comms_render_us`: render one message (Liquid subject/body/text, links, layout, MIME bytes).
- `comms_send_per_s`: messages per second handed to an SMTP sink that discards (aiosmtpd in its
  own process) by 2 Celery worker processes running the real pipeline (claim, journal, render,
  send, mark, timeline), for a 30k-recipient blast of the same nation; then
  `comms_send_redis_journal_per_s`, the same with the shared hand-over journal in Redis.
- `comms_raw_smtp_per_s`: the floor — 2 processes sending pre-rendered messages to the same
  sink with smtplib over one connection each, nothing else.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.db import connection
from django_tenants.utils import schema_context

from .report import Report

ROOT = Path(__file__).resolve().parent.parent.parent
SEND_AUDIENCE = 30_000
RAW_PER_PROCESS = 15_000


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _raw_sender(port: int, count: int, message: bytes, out) -> None:
    import smtplib

    conn = smtplib.SMTP("127.0.0.1", port)
    started = time.perf_counter()
    for i in range(count):
        conn.sendmail("bench@example.org", [f"r{i}@example.org"], message)
    out.put(time.perf_counter() - started)
    conn.quit()


def bench_comms(report: Report) -> None:
    from nations.comms import actions, pipeline
    from nations.comms.models import Blast
    from nations.comms.render import BlastTemplate, build_mime
    from nations.people.models import PeopleList, Person
    from tenants.actions import nation_create
    from tenants.models import User

    from .people_data import generate_people

    slug = "bench-comms"
    _drop(slug)
    owner = User.objects.create_user(email="owner@bench-comms.example", password="x" * 12)
    nation = nation_create(
        name="Bench Comms", slug=slug, country="FR", language="fr", owner=owner, plan="nation"
    )
    sink_port = _free_port()
    sink = subprocess.Popen([sys.executable, "-m", "tests.perf.comms_sink", str(sink_port)], cwd=ROOT, stdout=subprocess.PIPE)  # fmt: skip
    sink.stdout.readline()
    workers: list[subprocess.Popen] = []
    try:
        generate_people(nation.schema_name, 1_000_000)
        with schema_context(nation.schema_name), connection.cursor() as cursor:
            connection.set_tenant(nation)
            # Everyone reachable: one UPDATE with the secondary indexes off (with them, every
            # row rewrites every index, trigram included: minutes), then the indexes again.
            from .people_data import _secondary_indexes

            indexes = _secondary_indexes(cursor, "people_person")
            for name, _definition in indexes:
                cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
            cursor.execute("UPDATE people_person SET email_consent = 'granted' WHERE email <> ''")
            for _name, definition in indexes:
                cursor.execute(definition)
            cursor.execute("VACUUM ANALYZE people_person")
            sender = actions.broadcaster_save(
                name="Bench", from_email="bench@bench-comms.example", postal_address="1 rue du Banc"
            )
            body = (
                '<h2>Bonjour {{ person.first_name | default: "ami" }}</h2><p>La campagne avance à '
                '{{ person.city }}. <a href="https://example.org/agir">Agir</a> ou '
                '<a href="https://example.org/don">donner</a>.</p>'
                + "<p>Un paragraphe de texte.</p>"
                * 10
            )
            everyone = actions.blast_save(
                broadcaster=sender,
                subject="{{ person.first_name }}, on compte sur vous",
                body_html=body,
                audience="everyone",
            )
            Blast.objects.filter(pk=everyone.pk).update(status="preparing")
            started = time.perf_counter()
            with _no_pumps():
                total = pipeline.snapshot(everyone.pk)
            report.add("comms_snapshot_1m_s", time.perf_counter() - started, "s", recipients=total)
            actions.blast_cancel(blast=everyone)

            template = BlastTemplate(everyone, nation, base_url="https://bench-comms.example")
            people = list(Person.objects.all()[:5000])
            started = time.perf_counter()
            for i, person in enumerate(people):
                rendered = template.render(person, delivery_id=i + 1)
                build_mime(
                    rendered=rendered,
                    from_header=template.from_header,
                    to=person.email,
                    message_id=f"<{i}@b>",
                )
            report.add("comms_render_us", (time.perf_counter() - started) / len(people) * 1e6, "us")
            sample = build_mime(
                rendered=rendered,
                from_header=template.from_header,
                to="x@example.org",
                message_id="<raw@b>",
            )

            crowd = PeopleList.objects.create(name="Bench send")
            cursor.execute(
                "INSERT INTO people_listmembership (people_list_id, person_id, created_at)"
                " SELECT %s, id, now() FROM people_person WHERE email <> '' ORDER BY id LIMIT %s",
                [crowd.pk, SEND_AUDIENCE],
            )
            # The same blast twice: with the default journal (a local file), then with the
            # shared one (COMMS_JOURNAL=redis: one Redis round trip per message).
            for journal_kind, name in (
                ("file", "comms_send_per_s"),
                ("redis", "comms_send_redis_journal_per_s"),
            ):
                blast = actions.blast_save(
                    broadcaster=sender,
                    subject="{{ person.first_name }}, on compte sur vous",
                    body_html=body,
                    audience="list",
                    people_list=crowd,
                )
                _measure_send(report, name, blast, nation, workers, sink_port, journal_kind)
                for proc in workers:
                    proc.terminate()
                    proc.wait(15)
                workers.clear()

        ctx = multiprocessing.get_context("spawn")
        out = ctx.Queue()
        procs = [
            ctx.Process(target=_raw_sender, args=(sink_port, RAW_PER_PROCESS, sample, out))
            for _ in range(2)
        ]
        for proc in procs:
            proc.start()
        seconds = [out.get(timeout=300) for _ in procs]
        for proc in procs:
            proc.join()
        report.add("comms_raw_smtp_per_s", 2 * RAW_PER_PROCESS / max(seconds), "msg/s", processes=2)
    finally:
        for proc in [*workers, sink]:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        connection.set_schema_to_public()
        _drop(slug)


def _measure_send(report, name, blast, nation, workers, sink_port, journal_kind) -> None:
    """Messages/s handed to the sink by 2 real Celery worker processes for one blast."""
    from nations.comms import actions
    from nations.comms.models import Blast

    journal = Path(tempfile.mkdtemp(prefix="comms-bench-"))
    env = {
        **os.environ, "COMMS_SMTP_HOST": "127.0.0.1", "COMMS_SMTP_PORT": str(sink_port),
        "COMMS_EMAIL_RATE": "1000000", "COMMS_EMAIL_NATION_RATE": "1000000",
        "COMMS_PUMPS": "2", "COMMS_JOURNAL_DIR": str(journal), "COMMS_JOURNAL": journal_kind,
    }  # fmt: skip
    for n in range(2):
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "-l", "error",
             "-n", f"bench{n}-{journal_kind}@%h", "--without-heartbeat", "--without-gossip", "--without-mingle"],
            env=env, cwd=ROOT,
        ))  # fmt: skip
    time.sleep(6)  # both workers up before the first task, so the two pumps run in parallel
    actions.blast_send(blast=blast, nation=nation)
    t0 = t1 = None
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        status = Blast.objects.filter(pk=blast.pk).values_list("status", flat=True).first()
        if status == "sending" and t0 is None:
            t0 = time.perf_counter()
        if status == "sent":
            t1 = time.perf_counter()
            break
        time.sleep(0.05)
    blast.refresh_from_db()
    if t0 and t1:
        report.add(
            name,
            blast.sent_count / (t1 - t0),
            "msg/s",
            recipients=blast.sent_count,
            workers=2,
            journal=journal_kind,
        )


class _no_pumps:
    """The snapshot figure is the INSERT alone: no pump is started for it."""

    def __enter__(self):
        from nations.comms import tasks

        self.saved = tasks.start_pumps
        tasks.start_pumps = lambda *a, **k: None

    def __exit__(self, *exc):
        from nations.comms import tasks

        tasks.start_pumps = self.saved


def _drop(slug: str) -> None:
    from tenants.models import Nation, User
    from tenants.provisioning import drop_schema

    nation = Nation.objects.filter(slug=slug).first()
    if nation is not None:
        drop_schema(nation.schema_name)
        users = [m.user_id for m in nation.memberships.all()]
        nation.delete()
        User.objects.filter(pk__in=users).delete()
