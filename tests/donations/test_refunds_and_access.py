"""Refunds (from the panel and from Stripe), disputes, cancelling a recurring gift (staff and
donor link), CSV export, tax receipts; every donations URL from another nation."""

from __future__ import annotations

import pytest
from django.test import Client

from nations.donations.models import Donation, RecurringDonation, TaxReceipt
from nations.donations.signing import manage_url
from nations.people.models import Person
from tests.conftest import client_for

from .conftest import in_schema
from .helpers import connect_nation, donation_page, gift_data, give, pay

pytestmark = pytest.mark.django_db


def _paid(alpha, connect, committed, **values):
    donor = Client(HTTP_HOST=alpha.host)
    pay(connect, give(donor, "give", gift_data(**values))["Location"])
    committed(connect.deliver)
    with in_schema(alpha.nation):
        return Donation.objects.filter(status="paid").latest("id")


@pytest.fixture
def ready(alpha, connect):
    connect_nation(connect, alpha.nation, currency="EUR")
    donation_page(alpha.nation)


def test_panel_refund_and_its_webhook_converge(alpha, connect, committed, ready):
    gift = _paid(alpha, connect, committed)
    owner = client_for(alpha.host, alpha.owner, alpha.nation)
    assert owner.get(f"/panel/donations/{gift.pk}/").status_code == 200
    owner.post(f"/panel/donations/{gift.pk}/refund/", {"amount": "10"})
    committed(connect.deliver)  # charge.refunded arrives after: no double count
    with in_schema(alpha.nation):
        gift.refresh_from_db()
        assert gift.refunded_amount == 1000 and gift.status == "paid"
        person = Person.objects.get(email="zoe@example.org")
        assert person.donations_total == 1500
    owner.post(f"/panel/donations/{gift.pk}/refund/", {})
    committed(connect.deliver)
    with in_schema(alpha.nation):
        gift.refresh_from_db()
        assert gift.status == "refunded" and gift.refunded_amount == 2500
        person.refresh_from_db()
        assert (person.donations_count, person.donations_total) == (0, 0)


def test_dispute_lost_takes_the_gift_off_the_person(alpha, connect, committed, ready):
    gift = _paid(alpha, connect, committed)
    dispute = connect.post("/_local/disputes", {"payment_intent": gift.stripe_payment_intent_id})
    committed(connect.deliver)
    with in_schema(alpha.nation):
        gift.refresh_from_db()
        assert gift.dispute == "open"
        assert Person.objects.get(email="zoe@example.org").donations_total == 2500
    connect.post(f"/_local/disputes/{dispute['id']}/close", {"status": "lost"})
    committed(connect.deliver)
    with in_schema(alpha.nation):
        gift.refresh_from_db()
        assert gift.dispute == "lost"
        assert Person.objects.get(email="zoe@example.org").donations_total == 0


def test_donor_and_staff_cancel_recurring_gifts(alpha, connect, committed, ready):
    _paid(alpha, connect, committed, frequency="month", amount="10")
    with in_schema(alpha.nation):
        recurring = RecurringDonation.objects.get()
        link = manage_url(recurring)
    donor = Client(HTTP_HOST=alpha.host)
    page = donor.get(link)
    assert page.status_code == 200 and b"Stop my recurring gift" in page.content
    card = donor.post(link, {"action": "card"})
    assert card.status_code == 303 and "/p/session/" in card["Location"]
    assert donor.get(link[:-5] + "xxxx/").status_code == 404  # a forged token
    committed(donor.post, link, {"action": "cancel"})
    with in_schema(alpha.nation):
        recurring.refresh_from_db()
        assert recurring.status == "canceled"
    connect.advance(days=40)
    committed(connect.deliver)
    with in_schema(alpha.nation):
        assert Donation.objects.filter(status="paid").count() == 1  # no renewal after cancel


def test_failed_renewal_is_visible(alpha, connect, committed, ready):
    _paid(alpha, connect, committed, frequency="month", amount="10")
    with in_schema(alpha.nation):
        recurring = RecurringDonation.objects.get()
    account = alpha.nation.stripe_account.account_id
    # The donor's card starts failing (Stripe's 4000 0000 0000 0341): attach it as default.
    import urllib.request

    req = urllib.request.Request(  # noqa: S310
        connect.url + "/v1/payment_methods/pm_card_chargeCustomerFail/attach",
        b"customer=" + recurring.stripe_customer_id.encode(),
        headers={"Authorization": "Bearer sk_test_nations_billing", "Stripe-Account": account},
    )
    pm = __import__("json").loads(urllib.request.urlopen(req).read())  # noqa: S310
    req = urllib.request.Request(  # noqa: S310
        connect.url + f"/v1/customers/{recurring.stripe_customer_id}",
        f"invoice_settings[default_payment_method]={pm['id']}".encode(),
        headers={"Authorization": "Bearer sk_test_nations_billing", "Stripe-Account": account},
    )
    urllib.request.urlopen(req)  # noqa: S310
    connect.advance(days=32)
    committed(connect.deliver)
    with in_schema(alpha.nation):
        recurring.refresh_from_db()
        # 1 or 2 attempts: the shared clock may sit in a short month (retry 3 days later)
        assert recurring.status == "past_due" and recurring.failures >= 1
        failed = Donation.objects.get(status="failed")
        assert "declined" in failed.failure_message.lower()
    owner = client_for(alpha.host, alpha.owner, alpha.nation)
    assert b"Payment failed" in owner.get("/panel/donations/").content
    committed(owner.post, f"/panel/donations/recurring/{recurring.pk}/cancel/")
    with in_schema(alpha.nation):
        recurring.refresh_from_db()
        assert recurring.status == "canceled"


def test_csv_export_and_tax_receipts(alpha, connect, committed, ready, eager_tasks):
    _paid(alpha, connect, committed, first_name="=HYPERLINK(1)")
    owner = client_for(alpha.host, alpha.owner, alpha.nation)
    csv = b"".join(owner.get("/panel/donations/export.csv").streaming_content).decode()
    assert "zoe@example.org" in csv and "'=HYPERLINK(1)" in csv
    from django.utils import timezone

    year = timezone.now().year
    job = committed(owner.post, "/panel/donations/tax-receipts/", {"year": str(year)})
    assert "/panel/jobs/" in job["Location"]  # a background job, with its progress bar
    with in_schema(alpha.nation):
        receipt = TaxReceipt.objects.get()
        assert receipt.number == f"{year}-00001" and receipt.amount == 2500
    pdf = owner.get(f"/panel/donations/tax-receipts/{receipt.pk}.pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_another_nation_reaches_none_of_it(alpha, bravo, connect, committed, ready):
    gift = _paid(alpha, connect, committed, frequency="month", amount="10")
    with in_schema(alpha.nation):
        recurring = RecurringDonation.objects.get()
        link = manage_url(recurring)
    bravo_owner = client_for(bravo.host, bravo.owner, bravo.nation)
    assert bravo_owner.get(f"/panel/donations/{gift.pk}/").status_code == 404
    assert bravo_owner.post(f"/panel/donations/{gift.pk}/refund/").status_code == 404
    assert bravo_owner.post(f"/panel/donations/recurring/{recurring.pk}/cancel/").status_code == 404
    assert Client(HTTP_HOST=bravo.host).get(link).status_code == 404
    assert Client(HTTP_HOST=bravo.host).get(f"/give/donate/thanks/{gift.key}/").status_code == 404
    alpha_owner_on_bravo = client_for(bravo.host, alpha.owner, alpha.nation)
    assert alpha_owner_on_bravo.get("/panel/donations/").status_code == 302
