"""Bad amounts, currencies, rule violations, declined cards: a clear answer, nothing paid."""

from __future__ import annotations

import pytest
from django.test import Client

from nations.donations.actions import donation_settings, rules_apply_preset
from nations.donations.models import Donation, RecurringDonation
from nations.people.models import Person
from tests.conftest import client_for

from .conftest import in_schema
from .helpers import connect_nation, donation_page, gift_data, give, pay

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready(alpha, connect):
    connect_nation(connect, alpha.nation, currency="EUR")
    donation_page(alpha.nation)
    return Client(HTTP_HOST=alpha.host)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("0.50", "The smallest gift is"),
        ("20000", "The largest gift we can take online is"),
        ("abc", "Enter the amount as a number"),
        ("-5", "must be more than zero"),
        ("10.555", "at most two decimals"),
        ("NaN", "Enter the amount as a number"),
        ("1e3", "The largest gift"),  # 1000 EUR is fine; see below for the cap itself
    ],
)
def test_bad_amounts_are_refused_before_payment(alpha, ready, typed, message):
    if typed == "1e3":
        with in_schema(alpha.nation):
            s = donation_settings()
            s.max_amount = 50000
            s.save()
    response = give(ready, "give", gift_data(other_amount=typed))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert f'value="{typed}"' in response.content.decode()  # what was typed is kept
    with in_schema(alpha.nation):
        assert not Donation.objects.exists()


def test_unsupported_currency_is_refused(alpha, ready):
    alpha.nation.currency = "JPY"
    alpha.nation.save(update_fields=["currency"])
    response = give(ready, "give", gift_data())
    assert response.status_code == 400 and "not supported" in response.content.decode()
    with in_schema(alpha.nation):
        assert not Donation.objects.exists()


def test_no_stripe_account_means_no_payment(alpha, connect):
    donation_page(alpha.nation)
    donor = Client(HTTP_HOST=alpha.host)
    assert b"Online giving opens soon" in donor.get("/give/").content
    response = give(donor, "give", gift_data())
    assert response.status_code == 409
    with in_schema(alpha.nation):
        assert not Donation.objects.exists()


def test_declined_card_records_nothing_paid(alpha, ready, connect, committed):
    response = give(ready, "give", gift_data())
    status, body = pay(connect, response["Location"], card="4000000000000002")
    assert status == 402 and "declined" in body
    committed(connect.deliver)
    with in_schema(alpha.nation):
        gift = Donation.objects.get()
        assert gift.status == "pending" and gift.paid_at is None
        assert not Person.objects.filter(email="zoe@example.org").exists()


def test_france_party_rules(alpha, ready, connect, committed):
    with in_schema(alpha.nation):
        rules_apply_preset(settings=donation_settings(), rules="fr_party")
    page = ready.get("/give/").content.decode()
    assert "French nationality" in page and "own funds" in page
    # Without the attestation or as a company: refused.
    response = give(ready, "give", gift_data(natural_person="on"))
    assert (
        response.status_code == 400
        and "French nationality or live in France" in response.content.decode()
    )
    response = give(ready, "give", gift_data(attestation="on"))
    assert response.status_code == 400 and "Only individuals" in response.content.decode()
    # 7,000 paid this year, then 600 more would pass 7,500: refused, with what is left.
    ok = gift_data(natural_person="on", attestation="on", other_amount="7000", nonce="a")
    with in_schema(alpha.nation):
        s = donation_settings()
        s.max_amount = 750_000
        s.save()
    pay(connect, give(ready, "give", ok)["Location"])
    committed(connect.deliver)
    response = give(ready, "give", {**ok, "other_amount": "600", "nonce": "b"})
    assert response.status_code == 400
    assert "7,500.00 €" in response.content.decode() and "500.00 €" in response.content.decode()
    # A monthly gift counts every charge left this calendar year.
    response = give(
        ready, "give", {**ok, "other_amount": "500", "frequency": "month", "nonce": "c"}
    )
    with in_schema(alpha.nation):
        assert Donation.objects.filter(status="paid").count() == 1
        assert not RecurringDonation.objects.exists()
    assert response.status_code in (303, 400)


def test_us_federal_requires_employer_past_the_threshold(alpha, connect):
    connect_nation(connect, alpha.nation, currency="USD")
    donation_page(alpha.nation)
    donor = Client(HTTP_HOST=alpha.host)
    with in_schema(alpha.nation):
        rules_apply_preset(settings=donation_settings(), rules="us_federal")
    assert give(donor, "give", gift_data(other_amount="150")).status_code == 303
    response = give(donor, "give", gift_data(other_amount="250", nonce="2"))
    assert response.status_code == 400 and "employer and occupation" in response.content.decode()
    response = give(
        donor, "give", gift_data(other_amount="250", nonce="3", employer="ACME", occupation="Nurse")
    )
    assert response.status_code == 303
    # $20 a month passes $200 within the year: asked up front, renewals cannot ask.
    monthly = gift_data(other_amount="20", frequency="month", email="new@example.org", nonce="4")
    response = give(donor, "give", monthly)
    assert response.status_code == 400 and "employer and occupation" in response.content.decode()
    response = give(donor, "give", {**monthly, "employer": "ACME", "occupation": "Nurse"})
    assert response.status_code == 303


def test_staff_edit_rules_from_a_preset(alpha, connect):
    owner = client_for(alpha.host, alpha.owner, alpha.nation)
    assert owner.get("/panel/donations/settings/").status_code == 200
    response = owner.post(
        "/panel/donations/settings/",
        {
            "rules": "fr_candidate",
            "preset": "fr_candidate",
            "min_amount": "1",
            "max_amount": "4600",
            "fee_percent": "3",
            "cover_fees": "on",
        },
    )
    assert response.status_code == 302
    with in_schema(alpha.nation):
        s = donation_settings()
        assert s.rules == "fr_candidate" and s.election_limit == 460_000
    staff = client_for(alpha.host, alpha.staff, alpha.nation)
    assert staff.get("/panel/donations/settings/").status_code == 403


def test_a_flood_of_gift_forms_from_one_visitor_is_turned_away(alpha, ready, settings):
    settings.RATELIMIT_ENABLE = True
    settings.SITE_FORM_IP_RATE = "3/m"
    codes = [give(ready, "give", gift_data(other_amount="abc")).status_code for _ in range(4)]
    assert codes == [400, 400, 400, 429]
