"""Create (once) the demo nation, its staff login and a platform operator, with a few people."""

from django.core.management.base import BaseCommand
from django.db import transaction
from django_tenants.utils import schema_context

from nations.people.actions import person_create
from nations.people.models import Person
from tenants.actions import Owner, nation_create
from tenants.models import Nation, User

DEMO_EMAIL = "demo@nations.localhost"
DEMO_PASSWORD = "demo-password-2026"
OPERATOR_EMAIL = "operator@nations.localhost"
OPERATOR_PASSWORD = "operator-password-2026"

PEOPLE = [
    ("Hélène", "Dupont", "helene.dupont@example.org"),
    ("Marc", "Lefèvre", "marc.lefevre@example.org"),
    ("Amina", "Diallo", "amina.diallo@example.org"),
    ("Jean", "Martin", "jean.martin@example.org"),
    ("Chloé", "Bernard", "chloe.bernard@example.org"),
]


class Command(BaseCommand):
    help = "Seed the demo nation and the operator account (idempotent)."

    def handle(self, *args, **options):
        if not User.objects.filter(email=OPERATOR_EMAIL).exists():
            User.objects.create_superuser(
                email=OPERATOR_EMAIL, password=OPERATOR_PASSWORD, full_name="Platform Operator"
            )
        nation = Nation.objects.filter(slug="demo").first()
        if nation is None:
            with transaction.atomic():
                nation = nation_create(
                    name="Demo Nation",
                    slug="demo",
                    country="FR",
                    language="fr",
                    owner=Owner(full_name="Demo Owner", email=DEMO_EMAIL, password=DEMO_PASSWORD),
                )
            self.stdout.write(self.style.SUCCESS("demo nation created"))
        with schema_context(nation.schema_name):
            if not Person.objects.exists():
                for first, last, email in PEOPLE:
                    person_create(first_name=first, last_name=last, email=email)
