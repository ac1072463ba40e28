"""SMS pipeline benchmark (nations/comms, SMS channel).

- `sms_send_per_s`: text messages per second handed to the local Twilio server (its own
  process, config/twilio_server) by 2 Celery worker processes running the real pipeline (claim,
  journal, consent and mobile-number checks, quiet hours, Liquid render, GSM-7 segment count,
  the official twilio SDK over HTTP, mark, timeline), for a 20k-recipient SMS blast.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from datetime import time as clock
from pathlib import Path

from django.db import connection
from django_tenants.utils import schema_context

from .comms import _drop, _free_port
from .report import Report

ROOT = Path(__file__).resolve().parent.parent.parent
SMS_AUDIENCE = int(os.environ.get("SMS_BENCH_SIZE", "20000"))
ACCOUNT, TOKEN, SENDER = "AC" + "7" * 32, "bench-token", "+33756000001"


def bench_sms(report: Report) -> None:
    from nations.comms import actions
    from nations.comms.models import Blast, TwilioAccount
    from nations.people.models import PeopleList
    from tenants.actions import nation_create
    from tenants.models import User

    from .people_data import generate_people

    slug = "bench-sms"
    _drop(slug)
    owner = User.objects.create_user(email="owner@bench-sms.example", password="x" * 12)
    nation = nation_create(
        name="Bench SMS", slug=slug, country="FR", language="fr", owner=owner, plan="nation"
    )
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "config.twilio_server", "--port", str(port),
         "--account", ACCOUNT, "--token", TOKEN],
        cwd=ROOT, stdout=subprocess.PIPE,
    )  # fmt: skip
    server.stdout.readline()
    workers: list[subprocess.Popen] = []
    try:
        generate_people(nation.schema_name, SMS_AUDIENCE * 2 + SMS_AUDIENCE // 2)
        with schema_context(nation.schema_name), connection.cursor() as cursor:
            connection.set_tenant(nation)
            # Valid French mobiles only (the generator's +337 0… numbers are not valid numbers
            # and would be skipped, not sent), all with SMS consent.
            cursor.execute(
                "UPDATE people_person SET sms_consent = 'granted' WHERE phone LIKE '+336%'"
            )
            crowd = PeopleList.objects.create(name="Bench SMS")
            cursor.execute(
                "INSERT INTO people_listmembership (people_list_id, person_id, created_at)"
                " SELECT %s, id, now() FROM people_person WHERE sms_consent = 'granted'"
                " ORDER BY id LIMIT %s",
                [crowd.pk, SMS_AUDIENCE],
            )
            TwilioAccount.objects.create(quiet_start=clock(0), quiet_end=clock(0))  # no night
            blast = actions.blast_save(
                channel="sms",
                name="Bench",
                subject="",
                text="Bonjour {{ person.first_name | default: 'ami' }}, on compte sur vous "
                "dimanche à {{ person.city }}. STOP au 36180",
                sender=SENDER,
                audience="list",
                people_list=crowd,
            )
            journal = Path(tempfile.mkdtemp(prefix="sms-bench-"))
            env = {
                **os.environ, "TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": TOKEN,
                "TWILIO_API_BASE": f"http://127.0.0.1:{port}", "TWILIO_FROM": SENDER,
                "COMMS_SMS_RATE": "1000000", "COMMS_SMS_NATION_RATE": "1000000",
                "COMMS_PUMPS": "2", "COMMS_JOURNAL_DIR": str(journal),
            }  # fmt: skip
            for n in range(2):
                workers.append(subprocess.Popen(
                    [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "-l", "error",
                     "-n", f"smsbench{n}@%h", "--without-heartbeat", "--without-gossip", "--without-mingle"],
                    env=env, cwd=ROOT,
                ))  # fmt: skip
            from django.conf import settings

            # This process checks the blast before sending: the same account as the workers.
            settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = ACCOUNT, TOKEN
            settings.TWILIO_API_BASE, settings.TWILIO_FROM = env["TWILIO_API_BASE"], SENDER
            time.sleep(6)  # both workers up before the first task, so the two pumps run in parallel
            actions.blast_send(blast=blast, nation=nation)
            t0 = t1 = None
            deadline = time.monotonic() + 900
            while time.monotonic() < deadline:
                status = Blast.objects.filter(pk=blast.pk).values_list("status", flat=True).first()
                if status == "sending" and t0 is None:
                    t0 = time.perf_counter()
                if status in ("sent", "paused", "failed"):
                    t1 = time.perf_counter()
                    break
                time.sleep(0.05)
            blast.refresh_from_db()
            print(
                f"sms bench: {blast.status} {blast.sent_count} sent, {blast.skipped_count} skipped,"
                f" {blast.failed_count} failed {blast.status_message}",
                flush=True,
            )
            if t0 and t1 and blast.status == "sent":
                report.add(
                    "sms_send_per_s",
                    blast.sent_count / (t1 - t0),
                    "msg/s",
                    recipients=blast.sent_count,
                    workers=2,
                )
    finally:
        for proc in [*workers, server]:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        connection.set_schema_to_public()
        _drop(slug)
