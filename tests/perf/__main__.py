"""`python -m tests.perf [--only NAME,...] [--keep-db]` — see tests/perf/__init__.py."""

from __future__ import annotations

import argparse
import os
import sys
import time

import django

BENCHES = (
    "clone",
    "migrate",
    "signup",
    "fleet",
    "people",
    "merge",
    "imports",
    "site",
    "billing",
    "donations",
    "comms",
    "sms",
    "automations",
)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.perf")
    parser.add_argument(
        "--only", default=",".join(BENCHES), help=f"comma-separated subset of {', '.join(BENCHES)}"
    )
    parser.add_argument(
        "--keep-db",
        action="store_true",
        help="reuse the bench database instead of dropping and creating it",
    )
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(chosen) - set(BENCHES)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    os.environ.setdefault("NATIONS_DB_NAME_OVERRIDE", "nations_bench")
    from django.conf import settings

    from .database import recreate

    database = settings.DATABASES["default"]
    if not args.keep_db:
        recreate(database)
    django.setup()

    from django.core.management import call_command
    from django.db import connection

    from . import fleet, provisioning, signup
    from .automations import bench_automations
    from .billing import bench_billing
    from .comms import bench_comms
    from .donations import bench_donations
    from .imports import bench_imports
    from .people import bench_people
    from .people_merge import bench_merge
    from .report import Report
    from .site import bench_site
    from .sms import bench_sms

    report = Report()
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        cursor.execute("SHOW fsync")
        fsync = cursor.fetchone()[0]
    report.describe_database(version, fsync)
    print(
        f"bench database {database['NAME']} (PostgreSQL {version}, fsync={fsync}); "
        f"{report.machine['nproc']} CPUs, {report.machine['memory_mb']} MB",
        flush=True,
    )

    started = time.perf_counter()
    call_command("migrate_schemas", interactive=False, verbosity=0)
    print(
        f"migrate_schemas (public + template) took {time.perf_counter() - started:.1f} s",
        flush=True,
    )

    runners = {
        "clone": provisioning.bench_clone,
        "migrate": provisioning.bench_migrate,
        "signup": signup.bench_signup,
        "fleet": fleet.bench_noop_migrate,
        "people": bench_people,
        "imports": bench_imports,
        "merge": bench_merge,
        "billing": bench_billing,
        "donations": bench_donations,
        "comms": bench_comms,
        "automations": bench_automations,
        "site": bench_site,
        "sms": bench_sms,
    }
    for name in BENCHES:
        if name in chosen:
            step = time.perf_counter()
            runners[name](report)
            if name == "fleet":
                fleet.bench_clone_in_fleet(report)
            print(f"({name}: {time.perf_counter() - step:.1f} s)", flush=True)
    print(
        f"total {time.perf_counter() - started:.1f} s; results in .bench/results.json", flush=True
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
