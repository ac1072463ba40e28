"""The yearly tax receipt emailed to each donor (signed, expiring link to the PDF; once;
in the donor's language), and the donor reports' date range (chart, tables, CSV agree)."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone

from nations.comms.models import Delivery
from nations.donations.models import Donation, TaxReceipt
from nations.donations.signing import TAX_RECEIPT_SALT
from nations.people.models import Person
from tests.conftest import client_for

from .conftest import in_schema
from .helpers import connect_nation, donation_page, gift_data, give, pay

pytestmark = pytest.mark.django_db


def _paid(alpha, connect, committed, **values):
    donor = Client(HTTP_HOST=alpha.host)
    pay(
        connect,
        give(donor, "give", gift_data(**values))["Location"],
        email=values.get("email", "zoe@example.org"),
    )
    committed(connect.deliver)


def _link(message) -> str:
    return re.search(r"https?://\S+(/donations/tax-receipt/\S+/)", message.get_content()).group(1)


def test_tax_receipts_are_emailed_once_in_the_donors_language(
    alpha, bravo, connect, committed, eager_tasks, mailbox
):
    connect_nation(connect, alpha.nation, currency="EUR")
    donation_page(alpha.nation)
    _paid(alpha, connect, committed)
    _paid(alpha, connect, committed, email="sam@example.org", first_name="Sam", nonce="2")
    with in_schema(alpha.nation):
        Person.objects.filter(email="zoe@example.org").update(language="fr")
    mailbox.clear()
    year = timezone.localdate().year
    owner = client_for(alpha.host, alpha.owner, alpha.nation)
    response = committed(owner.post, "/panel/donations/tax-receipts/", {"year": str(year)})
    assert response.status_code == 302
    job = owner.get(response["Location"]).content.decode()
    assert "2 tax receipts issued" in job and "2 emailed to their donors" in job
    [french] = mailbox.to("zoe@example.org")
    [english] = mailbox.to("sam@example.org")
    assert "reçu fiscal" in french["Subject"] and "25,00 €" in french.get_content()
    assert "tax receipt" in english["Subject"] and "90 days" in english.get_content()
    with in_schema(alpha.nation):
        numbers = sorted(TaxReceipt.objects.values_list("number", flat=True))
        assert numbers == [f"{year}-00001", f"{year}-00002"]
        assert TaxReceipt.objects.filter(emailed_at__isnull=False).count() == 2
        assert Delivery.objects.filter(kind="tax_receipt").count() == 2
    # The link opens the donor's PDF, on this nation only, and not once forged.
    link = _link(french)
    pdf = Client(HTTP_HOST=alpha.host).get(link)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert Client(HTTP_HOST=bravo.host).get(link).status_code == 404
    assert Client(HTTP_HOST=alpha.host).get(link[:-6] + "xxxxx/").status_code == 404
    # Running the yearly send again emails nobody and renumbers nothing.
    mailbox.clear()
    committed(owner.post, "/panel/donations/tax-receipts/", {"year": str(year)})
    assert mailbox.messages == []
    with in_schema(alpha.nation):
        assert sorted(TaxReceipt.objects.values_list("number", flat=True)) == numbers
        assert Delivery.objects.filter(kind="tax_receipt").count() == 2
    page = owner.get("/panel/donations/tax-receipts/").content.decode()
    assert "Issue and email receipts" in page and "Not yet" not in page


def test_an_expired_tax_receipt_link_is_refused(alpha, connect, committed, eager_tasks):
    connect_nation(connect, alpha.nation, currency="EUR")
    donation_page(alpha.nation)
    _paid(alpha, connect, committed)
    year = timezone.localdate().year
    owner = client_for(alpha.host, alpha.owner, alpha.nation)
    committed(owner.post, "/panel/donations/tax-receipts/", {"year": str(year)})
    with in_schema(alpha.nation):
        receipt = TaxReceipt.objects.get()

    class Signed91DaysAgo(signing.TimestampSigner):
        def timestamp(self):
            return signing.b62_encode(int(time.time()) - 91 * 86400)

    old = Signed91DaysAgo(salt=TAX_RECEIPT_SALT).sign_object(
        {"r": receipt.pk, "n": receipt.number, "s": alpha.nation.schema_name}
    )
    assert Client(HTTP_HOST=alpha.host).get(f"/donations/tax-receipt/{old}/").status_code == 404


def _gift(when: datetime, amount: int, source: str, email: str) -> Donation:
    return Donation.objects.create(
        amount=amount,
        currency="EUR",
        status="paid",
        paid_at=when,
        created_at=when,
        source=source,
        email=email,
        first_name=email.split("@")[0],
        last_name="Donor",
    )


def test_reports_follow_the_date_range(alpha):
    tz = timezone.get_current_timezone()
    with in_schema(alpha.nation):
        _gift(datetime(2025, 3, 2, 10, tzinfo=tz), 1000, "march", "march@example.org")
        _gift(datetime(2025, 3, 20, 10, tzinfo=tz), 2000, "march", "march@example.org")
        _gift(datetime(2025, 5, 1, 10, tzinfo=tz), 7000, "may", "may@example.org")
    owner = client_for(alpha.host, alpha.owner, alpha.nation)
    page = owner.get("/panel/donations/?by=day&from=2025-03-01&to=2025-03-31")
    html = page.content.decode()
    assert page.status_code == 200 and "Raised in the period" in html
    assert "30.00 €" in html and "70.00 €" not in html and ">may<" not in html
    assert html.count('class="bar"') == 31  # one column per day of March
    assert 'href="/panel/donations/export.csv?from=2025-03-01&amp;to=2025-03-31"' in html
    csv = owner.get("/panel/donations/export.csv?from=2025-03-01&to=2025-03-31")
    body = b"".join(csv.streaming_content).decode()
    assert body.count("march@example.org") == 2 and "may@example.org" not in body
    assert "donations-2025-03-01-2025-03-31.csv" in csv["Content-Disposition"]
    # Months over the year: two non-empty columns, figures beneath the chart agree.
    html = owner.get("/panel/donations/?by=month&from=2025-01-01&to=2025-12-31").content.decode()
    assert html.count('class="bar"') == 12 and "100.00 €" in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2025-02-30", "YYYY-MM-DD"),
        ("from=yesterday", "YYYY-MM-DD"),
        ("from=2025-05-01&to=2025-04-01", "on or before the end date"),
        ("by=day&from=2020-01-01&to=2025-01-01", "too long"),
    ],
)
def test_a_bad_date_range_is_explained_and_ignored(alpha, query, message):
    owner = client_for(alpha.host, alpha.owner, alpha.nation)
    response = owner.get(f"/panel/donations/?{query}")
    assert response.status_code == 200 and message in response.content.decode()
    assert "Raised in total" in response.content.decode()


def test_csv_with_a_bad_range_goes_back_with_the_reason(alpha):
    owner = client_for(alpha.host, alpha.owner, alpha.nation)
    response = owner.get("/panel/donations/export.csv?to=31/12/2025", follow=True)
    assert "YYYY-MM-DD" in response.content.decode()


def test_range_end_is_inclusive_in_the_nations_time_zone(alpha):
    tz = timezone.get_current_timezone()
    late = datetime(2025, 3, 31, 23, 30, tzinfo=tz)
    with in_schema(alpha.nation):
        _gift(late, 4200, "late", "late@example.org")
        _gift(late + timedelta(hours=1), 100, "april", "april@example.org")
    owner = client_for(alpha.host, alpha.owner, alpha.nation)
    html = owner.get("/panel/donations/?from=2025-03-31&to=2025-03-31").content.decode()
    assert "42.00 €" in html and "april@example.org" not in html
