"""What recipients do: open, click (only to the blast's own links), unsubscribe by link and by
RFC 8058 one-click POST; all of it on the timeline and in the report; tokens are per nation."""

from __future__ import annotations

import re

from django.db import connection
from django_tenants.utils import schema_context

from nations.comms import pipeline
from nations.comms.models import Delivery, DeliveryEvent
from nations.comms.report import blast_report
from nations.people.models import Activity, ConsentChange, Person
from tests.conftest import client_for

from .conftest import NationClient, make_blast, make_people
from .test_pipeline import start


def _links(message) -> dict[str, str]:
    html = message.get_body(("html",)).get_content()
    return {
        "open": re.search(r'src="http://[^/]+(/e/o/[^"]+)"', html).group(1),
        "click": re.search(r'href="http://[^/]+(/e/c/[^"]+)"', html).group(1),
        "unsub": re.search(r"<http://[^/]+(/e/u/[^>]+)>", str(message["List-Unsubscribe"])).group(
            1
        ),
    }


def send_one(in_alpha, sink):
    person = make_people(1, prefix="reader")[0]
    blast = start(make_blast(), in_alpha.nation)
    pipeline.pump("email")
    message = sink.to(person.email)[0]
    return person, blast, _links(message)


def test_open_and_click_are_recorded_once_and_redirect_only_to_the_blasts_link(in_alpha, sink):
    person, blast, links = send_one(in_alpha, sink)
    visitor = NationClient(in_alpha)
    for _ in range(2):
        response = visitor.get(links["open"])
        assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    response = visitor.get(links["click"])
    assert response.status_code == 302 and response["Location"] == "https://example.org/act"
    visitor.get(links["click"])
    assert DeliveryEvent.objects.filter(kind="opened").count() == 1
    assert DeliveryEvent.objects.filter(kind="clicked", link=0).count() == 1
    kinds = set(Activity.objects.filter(person=person).values_list("kind", flat=True))
    assert {"email_sent", "email_opened", "email_clicked"} <= kinds
    figures = {f["label"]: f["value"] for f in blast_report(blast)["figures"]}
    assert (figures["Opened"], figures["Clicked"]) == (1, 1)
    assert blast_report(blast)["links"][0]["clicks"] == 1


def test_the_click_redirect_is_not_an_open_redirect(in_alpha, sink):
    _person, _blast, links = send_one(in_alpha, sink)
    visitor = NationClient(in_alpha)
    token = links["click"].split("/")[3]
    for path in (
        f"/e/c/{token}/1/",  # no such link in the blast
        f"/e/c/{token}/0/?next=https://evil.example",
        f"/e/c/{token}/0/?url=https://evil.example",
        "/e/c/1.forged/0/",
    ):
        response = visitor.get(path)
        assert response.get("Location", "") in ("", "https://example.org/act"), path
        assert "evil" not in response.get("Location", "")
    assert visitor.get(f"/e/c/{token}/1/").status_code == 404
    assert visitor.get("/e/c/1.forged/0/").status_code == 404


def test_unsubscribe_page_then_button_withdraws_consent_and_stops_the_next_blast(in_alpha, sink):
    person, _blast, links = send_one(in_alpha, sink)
    visitor = NationClient(in_alpha)
    page = visitor.get(links["unsub"])
    assert page.status_code == 200 and b"Unsubscribe" in page.content
    person.refresh_from_db()
    assert person.email_consent == "granted"  # a GET (link scanners) changes nothing
    done = visitor.post(links["unsub"], {"action": "unsubscribe"})
    assert b"You are unsubscribed" in done.content
    person.refresh_from_db()
    assert person.email_consent == "withdrawn"
    change = ConsentChange.objects.get(person=person)
    assert (change.status, change.source) == ("withdrawn", "unsubscribe")
    assert Activity.objects.filter(person=person, kind="unsubscribed").exists()
    sink.clear()
    start(make_blast(), in_alpha.nation)
    pipeline.pump("email")
    assert sink.to(person.email) == []
    visitor.post(links["unsub"], {"action": "resubscribe"})
    person.refresh_from_db()
    assert person.email_consent == "granted"


def test_one_click_unsubscribe_post_rfc8058(in_alpha, sink):
    person, blast, links = send_one(in_alpha, sink)
    # Mailbox providers POST without cookies or CSRF token.
    response = NationClient(in_alpha).post(
        links["unsub"],
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    person.refresh_from_db()
    assert person.email_consent == "withdrawn"
    assert ConsentChange.objects.get(person=person).source == "one-click"
    figures = {f["label"]: f["value"] for f in blast_report(blast)["figures"]}
    assert figures["Unsubscribed"] == 1


def test_unsubscribing_mid_blast_skips_the_rest(in_alpha, sink):
    people = make_people(5, prefix="mid")
    blast = start(make_blast(), in_alpha.nation)
    Person.objects.filter(pk=people[3].pk).update(email_consent="withdrawn")
    pipeline.pump("email")
    assert sink.to(people[3].email) == []
    assert Delivery.objects.get(blast=blast, person_id=people[3].pk).status == "skipped"


def test_tracking_tokens_of_one_nation_are_useless_on_another(in_alpha, sink, bravo):
    person, _blast, links = send_one(in_alpha, sink)
    connection.set_schema_to_public()
    other = client_for(bravo.host)
    assert other.get(links["click"]).status_code == 404
    assert other.get(links["unsub"]).status_code == 404
    assert other.post(links["unsub"], {"List-Unsubscribe": "One-Click"}).status_code == 404
    with schema_context(in_alpha.nation.schema_name):
        person.refresh_from_db()
        assert person.email_consent == "granted"
        assert not DeliveryEvent.objects.exists()
