"""Races on real, committed connections: ten deliveries of one webhook at once; tax receipts
numbered from many threads without gaps or duplicates."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from django.db import connections
from django.test import Client
from django_tenants.utils import schema_context

from nations.donations.actions import tax_receipt_issue
from nations.donations.connect.models import ConnectedAccount, ConnectEvent
from nations.donations.models import Donation, TaxReceipt, TaxReceiptCounter
from nations.people.models import Person
from nations.site.models import Page

from .conftest import post_event
from .helpers import connect_nation, donation_page, gift_data, give, pay


def _cleanup(nation):
    with schema_context(nation.schema_name):
        TaxReceipt.objects.all().delete()
        TaxReceiptCounter.objects.all().delete()
        Donation.objects.all().delete()
        Person.objects.filter(email__endswith="@race.example").delete()
        Page.objects.filter(slug="give-race").delete()
    ConnectEvent.objects.all().delete()
    ConnectedAccount.objects.filter(nation=nation).delete()


def _run(n: int, target) -> None:
    barrier = threading.Barrier(n)

    def go():
        try:
            barrier.wait(timeout=20)
            target()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=go) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)


def test_the_same_webhook_ten_times_at_once_is_one_gift(django_db_blocker, world, connect):
    nation = world.alpha.nation
    with django_db_blocker.unblock():
        try:
            connect_nation(connect, nation)
            donation_page(nation, slug="give-race")
            donor = Client(HTTP_HOST=world.alpha.host)
            response = give(donor, "give-race", gift_data(email="ten@race.example"))
            pay(connect, response["Location"], email="ten@race.example")
            [completed] = [
                d for d in connect.connect_deliveries() if d["type"] == "checkout.session.completed"
            ]
            outcomes: list[str] = []
            _run(
                10,
                lambda: outcomes.append(
                    post_event(completed["payload"], completed["signature"]).json()["outcome"]
                ),
            )
            assert sorted(outcomes) == ["duplicate"] * 9 + ["processed"], outcomes
            with schema_context(nation.schema_name):
                assert Donation.objects.get(email="ten@race.example").status == "paid"
                assert Person.objects.get(email="ten@race.example").donations_count == 1
        finally:
            _cleanup(nation)


def test_tax_receipt_numbers_have_no_gaps_under_concurrency(django_db_blocker, world):
    nation = world.alpha.nation
    with django_db_blocker.unblock():
        try:
            with schema_context(nation.schema_name):
                people = []
                for i in range(12):
                    person = Person.objects.create(email=f"d{i}@race.example", first_name=f"D{i}")
                    Donation.objects.create(
                        person=person,
                        amount=5000,
                        currency="EUR",
                        status="paid",
                        email=person.email,
                        first_name=person.first_name,
                        last_name="Race",
                        paid_at=datetime(2025, 3, 1, tzinfo=UTC),
                    )
                    people.append(person.pk)
            queue = list(people) * 2  # each donor asked twice, concurrently
            lock = threading.Lock()
            failures: list[Exception] = []

            def issue():
                with schema_context(nation.schema_name):
                    while True:
                        with lock:
                            if not queue:
                                return
                            pk = queue.pop()
                        try:
                            tax_receipt_issue(person=Person.objects.get(pk=pk), year=2025)
                        except Exception as exc:  # a lost race on (person, year): retried once
                            from django.db import IntegrityError

                            if not isinstance(exc, IntegrityError):
                                failures.append(exc)

            _run(6, issue)
            assert not failures, failures
            with schema_context(nation.schema_name):
                serials = sorted(
                    TaxReceipt.objects.filter(year=2025).values_list("serial", flat=True)
                )
                assert serials == list(range(1, 13)), serials
                assert TaxReceiptCounter.objects.get(year=2025).last == 12
        finally:
            _cleanup(nation)
