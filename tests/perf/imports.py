"""Importing and exporting a million people.

`python -m tests.perf --only imports` (IMPORT_BENCH_SIZE overrides the million). A CSV of
realistic French and English people (names, emails, mobile numbers, postal codes, tags, email
consent) is written under /tmp, then:

- copy_1m_rows_raw: PostgreSQL's COPY of that file into a plain table of text columns, the
  floor no import can beat;
- import_1m_rows: the import task's work (import_run: count, read, clean, and apply in chunks
  through the COPY-based bulk path: people, emails, phones, tags, consent, timeline) into an
  empty nation;
- export_1m_rows: the export job writing those people back to CSV (default columns).

The file and the schema are deleted afterwards."""

from __future__ import annotations

import csv
import os
import random
import resource
import shutil
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection
from django.test import override_settings
from django_tenants.utils import schema_context

from tenants.provisioning import clone_template, drop_schema

from .report import Report

SCHEMA = "bench_imports"
TMP = Path(
    os.environ.get("IMPORT_BENCH_TMP") or Path(tempfile.gettempdir()) / "nations-bench-imports"
)
FIRST = [
    "Hélène",
    "Jérôme",
    "François",
    "Camille",
    "Léa",
    "Thomas",
    "Chloé",
    "Nicolas",
    "Zoé",
    "Stéphane",
    "Amélie",
    "Benoît",
    "Gaëlle",
    "Cécile",
    "Julien",
    "Manon",
    "Inès",
    "Louis",
    "Noémie",
    "Théo",
    "Oliver",
    "Emily",
    "Jack",
    "Sophie",
    "Harry",
    "Charlotte",
    "George",
    "Amelia",
    "James",
    "Isla",
    "William",
    "Grace",
    "Olivia",
    "Noah",
    "Mia",
    "Lucas",
    "Emma",
    "Hugo",
    "Jade",
    "Arthur",
]
LAST = [
    "Dupont",
    "Martin",
    "Bernard",
    "Lefèvre",
    "Moreau",
    "Girard",
    "Roux",
    "Fontaine",
    "Chevallier",
    "Leclerc",
    "Rousseau",
    "Bonnet",
    "Durand",
    "Lambert",
    "Faure",
    "Mercier",
    "Blanc",
    "Guérin",
    "Boyer",
    "Garnier",
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Wilson",
    "Evans",
    "Thomas",
    "Johnson",
    "Roberts",
    "Walker",
    "Wright",
    "Robinson",
    "Thompson",
    "White",
    "Hughes",
    "Edwards",
]
PLACES = (
    ("75011", "Paris"),
    ("69003", "Lyon"),
    ("13001", "Marseille"),
    ("31000", "Toulouse"),
    ("44000", "Nantes"),
    ("59000", "Lille"),
    ("33000", "Bordeaux"),
    ("67000", "Strasbourg"),
    ("35000", "Rennes"),
    ("34000", "Montpellier"),
)
DOMAINS = ("gmail.com", "orange.fr", "free.fr", "laposte.net", "yahoo.fr", "outlook.com")
TAGS = ("volunteer", "donor", "newsletter", "petition-climat", "event-2026", "phone-bank")
HEADER = [
    "first_name",
    "last_name",
    "email",
    "phone_number",
    "primary_zip",
    "primary_city",
    "primary_country_code",
    "tag_list",
    "email_opt_in",
]


def _ascii(name: str) -> str:
    import unicodedata

    return "".join(
        c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)
    ).lower()


def write_csv(path: Path, size: int, *, seed: int = 3) -> None:
    rng = random.Random(seed)  # noqa: S311 - reproducible benchmark data
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for i in range(size):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            postal, city = rng.choice(PLACES)
            tags = ", ".join(rng.sample(TAGS, rng.choice((0, 1, 1, 2))))
            writer.writerow(
                [
                    first,
                    last,
                    f"{_ascii(first)}.{_ascii(last)}{i}@{rng.choice(DOMAINS)}",
                    f"06 {12 + i // 1_000_000 % 80:02d} {i // 10_000 % 100:02d}"
                    f" {i // 100 % 100:02d} {i % 100:02d}",
                    postal,
                    city,
                    "FR",
                    tags,
                    rng.choice(("yes", "no", "")),
                ]
            )


class _Timer:
    """Time spent in each kind of SQL statement (its first words), to see where it goes: wall
    time, and the PostgreSQL backend's CPU time (what a shared machine does not blur). Timers
    of several connections (the import's appliers) may share `cpu`."""

    def __init__(
        self, into: dict[str, float], backend: int | None = None, cpu: dict | None = None
    ) -> None:
        self.into = into
        self.backend = backend
        self.cpu: dict[str, float] = {} if cpu is None else cpu

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        cpu = _backend_cpu_s(self.backend) if self.backend else 0.0
        try:
            return execute(sql, params, many, context)
        finally:
            key = " ".join(str(sql).split())[:90]
            self.into[key] = self.into.get(key, 0.0) + time.perf_counter() - started
            if self.backend:
                used = _backend_cpu_s(self.backend) - cpu
                self.cpu[key] = self.cpu.get(key, 0.0) + used


def _backend_cpu_s(pid: int) -> float:
    """CPU seconds used so far by the PostgreSQL backend `pid` (same machine): on a shared
    machine, CPU time compares runs better than the wall clock."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _postgres_cpu_s(backend: int) -> float:
    """CPU seconds used so far by all of PostgreSQL (same machine): the live processes of the
    server `backend` belongs to, and the ones that exited (connections an import opened and
    closed), which the postmaster has reaped."""
    try:
        postmaster = int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])
        fields = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
    except OSError:
        return float("nan")
    tick = os.sysconf("SC_CLK_TCK")
    total = sum(int(v) for v in fields[11:15]) / tick  # its own and its reaped children's
    return total + sum(_backend_cpu_s(int(pid)) for pid in children)


def _per_statement_on_every_connection(timings: dict, cpu: dict):
    """Time apply_chunk's statements on whichever connection runs it (the import's appliers
    have their own)."""
    from unittest import mock

    from nations.imports import actions

    original = actions.apply_chunk

    def timed(*args, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        with connection.execute_wrapper(_Timer(timings, pid, cpu)):
            return original(*args, **kwargs)

    return mock.patch.object(actions, "apply_chunk", timed)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_imports(report: Report) -> None:
    from nations.imports.actions import import_run
    from nations.imports.bulk import fk_triggers_skippable
    from nations.imports.columns import suggest_mapping
    from nations.imports.models import Import
    from nations.imports.reader import sniff
    from nations.jobs.actions import job_create
    from nations.jobs.models import Job
    from nations.people.exports import DEFAULT_COLUMNS, JOB_KIND, export_write

    size = int(os.environ.get("IMPORT_BENCH_SIZE", "1000000"))
    label = "1m" if size == 1_000_000 else str(size)
    drop_schema(SCHEMA)
    clone_template(SCHEMA)
    try:
        with override_settings(MEDIA_ROOT=str(TMP)), schema_context(SCHEMA):
            name = "imports/bench-people.csv"
            path = Path(default_storage.path(name))
            started = time.perf_counter()
            write_csv(path, size)
            print(
                f"generated {size:,} rows ({path.stat().st_size / 1e6:.0f} MB) in"
                f" {time.perf_counter() - started:.1f} s",
                flush=True,
            )

            with connection.cursor() as cursor:
                cursor.execute(
                    f"CREATE TABLE raw_people ({', '.join(f'{c} text' for c in HEADER)})"
                )
                started = time.perf_counter()
                with open(path, encoding="utf-8") as handle:
                    cursor.copy_expert(
                        "COPY raw_people FROM STDIN WITH (FORMAT csv, HEADER)", handle
                    )
                raw = time.perf_counter() - started
                cursor.execute("DROP TABLE raw_people")
            report.add(f"copy_{label}_rows_raw", raw, "s", rows=size, what="COPY into text columns")

            sniffed = sniff(str(path))
            people_import = Import.objects.create(
                file=name,
                original_name="bench-people.csv",
                size=path.stat().st_size,
                encoding=sniffed.encoding,
                delimiter=sniffed.delimiter,
                headers=sniffed.headers,
                mapping=suggest_mapping(sniffed.headers),
                status=Import.Status.RUNNING,
            )
            rss_before = _peak_rss_mb()
            timings: dict[str, float] = {}
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                backend = cursor.fetchone()[0]
            backend_cpu, python_cpu = _backend_cpu_s(backend), time.process_time()
            postgres_cpu = _postgres_cpu_s(backend)
            started = time.perf_counter()
            timer = _Timer(timings, backend)
            with _per_statement_on_every_connection(timings, timer.cpu):
                if os.environ.get("IMPORT_BENCH_CPROFILE"):
                    import cProfile
                    import pstats

                    profile = cProfile.Profile()
                    done = profile.runcall(import_run, people_import.pk)
                    pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
                else:
                    done = import_run(people_import.pk)
            elapsed = time.perf_counter() - started
            main_backend_cpu = _backend_cpu_s(backend) - backend_cpu
            postgres_cpu = _postgres_cpu_s(backend) - postgres_cpu
            # The connections that applied the chunks: the worker's own one, or its appliers'
            # (opened and closed by the import), and PostgreSQL's background processes
            # (WAL writer, autovacuum: a few percent).
            backend_cpu = postgres_cpu
            python_cpu = time.process_time() - python_cpu
            print(
                f"  cpu: postgres backend {backend_cpu:.1f} s (all PostgreSQL processes; the"
                f" worker's own connection {main_backend_cpu:.1f} s), python (all threads)"
                f" {python_cpu:.1f} s, wall {elapsed:.1f} s, load {os.getloadavg()[0]:.1f},"
                f" appliers {settings.IMPORT_APPLIERS}",
                flush=True,
            )
            skipped = fk_triggers_skippable()
            print(
                "  per-row FK triggers: "
                + ("skipped (session_replication_role = replica)" if skipped else "run")
            )
            print(
                "  wall s   cpu s  statement (postgres backend cpu; the rest is COMMIT"
                + ("" if skipped else ": FK checks")
                + ")"
            )
            for statement, seconds in sorted(timer.cpu.items(), key=lambda item: -item[1])[:16]:
                print(f"  {timings[statement]:6.2f}  {seconds:6.2f}  {statement}", flush=True)
            print(
                f"  commits and the rest: {backend_cpu - sum(timer.cpu.values()):.2f} s cpu",
                flush=True,
            )
            assert done.status == "done", done.error
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM people_person")
                people = cursor.fetchone()[0]
            report.add(
                f"import_{label}_rows",
                elapsed,
                "s",
                rows=size,
                created=done.created,
                rejected=done.rejected,
                people=people,
                peak_rss_mb_before=round(rss_before),
                peak_rss_mb_after=round(_peak_rss_mb()),
                backend_cpu_s=round(backend_cpu, 1),
                python_cpu_s=round(python_cpu, 1),
                what="import_run: count + read + clean + COPY chunks + set-based upsert",
            )

            job = job_create(kind=JOB_KIND, title="bench export")
            Job.objects.filter(pk=job.pk).update(
                result={"source": "all", "source_id": None, "columns": list(DEFAULT_COLUMNS)}
            )
            started = time.perf_counter()
            file_name, rows = export_write(job_id=job.pk)
            elapsed = time.perf_counter() - started
            report.add(
                f"export_{label}_rows",
                elapsed,
                "s",
                rows=rows,
                columns=list(DEFAULT_COLUMNS),
                bytes=os.path.getsize(default_storage.path(file_name)),
            )
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
        drop_schema(SCHEMA)
