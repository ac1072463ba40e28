"""The pipeline in-process, against a real SMTP sink: snapshot, claim, send, mark, report."""

from __future__ import annotations

from nations.comms import actions, pipeline
from nations.comms.models import Blast
from nations.people.models import Activity

from .conftest import make_blast, make_people


def start(blast, nation) -> Blast:
    actions.blast_send(blast=blast, nation=nation)
    pipeline.snapshot(blast.pk)
    blast.refresh_from_db()
    return blast


def test_a_blast_reaches_each_consenting_person_once(in_alpha, sink):
    people = make_people(30)
    make_people(5, prefix="nope", consent="withdrawn")
    make_people(3, prefix="unknown", consent="unknown")
    blast = start(make_blast(), in_alpha.nation)
    assert blast.status == Blast.Status.SENDING and blast.total == 30
    totals = pipeline.pump("email")
    assert totals["sent"] == 30, totals
    blast.refresh_from_db()
    assert (blast.status, blast.sent_count, blast.queued_count) == (Blast.Status.SENT, 30, 0)
    assert len(sink.messages) == 30 and set(sink.ids.values()) == {1}
    message = sink.to("p7@example.org")[0]
    assert message["Subject"] == "Hello P7"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/e/u/" in message["List-Unsubscribe"]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Hi P7" in text and "Hi P7" in html and "/e/c/" in html and "/e/o/" in html
    assert "https://example.org/act" not in html  # links go through the click redirect
    assert "1 rue de la Paix" in text
    assert (
        Activity.objects.filter(kind=Activity.Kind.EMAIL_SENT, person_id=people[7].pk).count() == 1
    )
