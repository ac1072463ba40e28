"""A/B test on the subject: two test groups, a wait, the winner by opens (or clicks), then the
rest of the audience gets the winner from the tick, with no second message to anyone."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from nations.comms import abtest, pipeline
from nations.comms.models import Blast, Delivery
from nations.comms.report import blast_report
from nations.comms.tasks import tick_nation

from .conftest import NationClient, make_blast, make_people
from .test_pipeline import start
from .test_recipients import _links


def _subjects(sink) -> dict[str, list]:
    found: dict[str, list] = {}
    for message in sink.messages:
        found.setdefault(str(message["Subject"]), []).append(message)
    return found


def test_ab_subject_test_sends_the_winner_to_the_rest(in_alpha, sink):
    make_people(100, prefix="ab")
    blast = make_blast(
        subject="Subject A for {{ person.first_name }}",
        subject_b="Subject B for {{ person.first_name }}",
        ab_percent=10,
        ab_wait_hours=2,
    )
    blast = start(blast, in_alpha.nation)
    assert blast.total == 100
    assert blast.ab_decide_at > timezone.now() + timedelta(minutes=110)

    pipeline.pump("email")
    sent = _subjects(sink)
    a = [m for s, ms in sent.items() if s.startswith("Subject A") for m in ms]
    b = [m for s, ms in sent.items() if s.startswith("Subject B") for m in ms]
    assert (len(a), len(b), len(sink.messages)) == (10, 10, 20)
    blast.refresh_from_db()
    assert blast.status == Blast.Status.SENDING and blast.sent_count == 20  # the rest waits
    assert Delivery.objects.filter(blast=blast, status="held").count() == 80

    # Three of group B open their email (the tracking pixel), one of group A.
    visitor = NationClient(in_alpha)
    for message in b[:3] + a[:1]:
        assert visitor.get(_links(message)["open"]).status_code == 200

    # Before the wait is over, the tick changes nothing.
    result = tick_nation()
    assert (result["decided"], result["pumps"]) == (0, 0)  # no idle pump while rows are held
    assert Delivery.objects.filter(blast=blast, status="held").count() == 80

    later = timezone.now() + timedelta(hours=2, minutes=1)
    assert abtest.decide_due(now=later) == 1
    assert abtest.decide_due(now=later) == 0  # a second tick decides nothing more
    sink.clear()
    pipeline.pump("email")
    assert len(sink.messages) == 80
    assert all(str(m["Subject"]).startswith("Subject B for Ab") for m in sink.messages)
    blast.refresh_from_db()
    assert (blast.status, blast.sent_count, blast.ab_winner) == (Blast.Status.SENT, 100, "b")
    assert Delivery.objects.filter(blast=blast, status="sent").count() == 100

    ab = blast_report(blast)["ab"]
    assert [(v["label"], v["sent"], v["opened"], v["winner"]) for v in ab["variants"]] == [
        ("A", 10, 1, False),
        ("B", 10, 3, True),
    ]
    page = NationClient(in_alpha, in_alpha.owner).get(f"/panel/communication/{blast.pk}/")
    html = page.content.decode()
    assert "Subject B won" in html and "30.0 %" in html and "10.0 %" in html


def test_ab_winner_by_clicks_ties_go_to_a_and_cancel_drops_the_held_rows(in_alpha, sink):
    make_people(40, prefix="tie")
    blast = start(
        make_blast(subject="Plain", subject_b="Fancy", ab_percent=25, ab_metric="clicks"),
        in_alpha.nation,
    )
    pipeline.pump("email")
    assert len(sink.messages) == 20
    blast.refresh_from_db()
    assert abtest.pick_winner(blast) == "a"  # nobody clicked: A, the original, wins the tie

    other = start(make_blast(subject="One", subject_b="Two", ab_percent=10), in_alpha.nation)
    from nations.comms import actions

    actions.blast_cancel(blast=other)
    assert not Delivery.objects.filter(blast=other, status="held").exists()
    assert abtest.decide_due(now=timezone.now() + timedelta(days=2)) == 1  # only the first
    sink.clear()
    pipeline.pump("email")
    assert len(sink.messages) == 20 and {str(m["Subject"]) for m in sink.messages} == {"Plain"}


def test_a_broken_subject_b_is_refused_before_sending(in_alpha, sink):
    make_people(3, prefix="broken")
    blast = make_blast(subject="Fine", subject_b="{% if %}", ab_percent=10)
    from nations.comms import actions

    try:
        actions.blast_send(blast=blast, nation=in_alpha.nation)
    except actions.BlastError as error:
        assert "Subject B" in str(error)
    else:
        raise AssertionError("a broken subject B was accepted")


def test_composing_an_ab_test_in_the_panel(in_alpha, sink):
    from nations.comms.models import Broadcaster

    make_people(5, prefix="panel")
    make_blast()  # a sender and the Lyon segment
    sender, segment = Broadcaster.objects.get(), Blast.objects.get().segment
    panel = NationClient(in_alpha, in_alpha.owner)
    response = panel.post(
        "/panel/communication/new/",
        {
            "broadcaster": sender.pk,
            "subject": "Plain\nBcc: evil@example.org",
            "subject_b": "  Fancy   one ",
            "ab_percent": "20",
            "ab_wait_hours": "8",
            "ab_metric": "clicks",
            "body_html": "<p>Hi</p>",
            "audience": "segment",
            "segment": segment.pk,
        },
    )
    assert response.status_code == 302
    blast = Blast.objects.exclude(pk=Blast.objects.order_by("pk").first().pk).get()
    assert (blast.subject_b, blast.ab_percent, blast.ab_wait_hours, blast.ab_metric) == (
        "Fancy one",
        20,
        8,
        "clicks",
    )
    assert "\n" not in blast.subject
    html = panel.get(f"/panel/communication/{blast.pk}/edit/").content.decode()
    assert "A/B test: 20 % get subject A and 20 % subject B" in html and "8 hours later" in html
    panel.client.cookies["django_language"] = "fr"
    html = panel.get(f"/panel/communication/{blast.pk}/edit/", HTTP_ACCEPT_LANGUAGE="fr").content
    assert "Test A/B : 20 % reçoivent l’objet A" in html.decode()
