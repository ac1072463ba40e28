"""`manage.py comms_bounce [FILE ...]`: process bounce/complaint reports (stdin if no file),
e.g. from a Postfix pipe transport on the bounce address."""

import sys

from django.core.management.base import BaseCommand

from nations.comms.dsn import bounce_process


class Command(BaseCommand):
    help = "Process delivery status notifications and abuse reports for sent emails."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="*")

    def handle(self, *args, files, **options):
        sources = files or ["-"]
        for name in sources:
            raw = sys.stdin.buffer.read() if name == "-" else open(name, "rb").read()  # noqa: SIM115
            self.stdout.write(f"{name}: {bounce_process(raw)}")
