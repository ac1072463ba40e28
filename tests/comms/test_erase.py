"""GDPR erasure reaches the messages: the erased person's delivery rows (blasts and
transactional) lose their address and content, their events lose their detail, and the blast's
report still adds up."""

from __future__ import annotations

from nations.comms import actions, pipeline
from nations.comms.models import Delivery, DeliveryEvent
from nations.comms.report import blast_report
from nations.people.actions import person_erase

from .conftest import NationClient, make_blast, make_people
from .test_pipeline import start
from .test_recipients import _links


def test_erasing_a_person_anonymises_their_deliveries_and_events(in_alpha, sink):
    people = make_people(3, prefix="gdpr")
    target = people[1]
    blast = start(make_blast(), in_alpha.nation)
    actions.transactional_send(
        to=target.email,
        subject="Merci Gdpr1",
        text="Merci Gdpr1, 12 rue des Lilas",
        from_email="team@alpha.example",
        person=target,
    )
    pipeline.pump("email")
    [newsletter] = [m for m in sink.to(target.email) if m["Subject"].startswith("Hello")]
    NationClient(in_alpha).get(_links(newsletter)["click"])
    before = {f["label"]: f["value"] for f in blast_report(blast)["figures"]}
    assert before["Clicked"] == 1

    person_erase(person=target)

    mine = Delivery.objects.filter(person_id=target.pk)
    assert mine.count() == 2
    assert not Delivery.objects.filter(address__icontains="gdpr1").exists()
    assert all(d.address.startswith("erased-") and d.payload is None for d in mine)
    assert not DeliveryEvent.objects.filter(delivery__in=mine).exclude(detail="").exists()
    assert DeliveryEvent.objects.filter(delivery__in=mine, kind="clicked").count() == 1
    assert Delivery.objects.filter(address=people[0].email).count() == 1  # others untouched
    after = {f["label"]: f["value"] for f in blast_report(blast)["figures"]}
    assert after == before
    person_erase(person=target)  # idempotent
