"""The Communication screens: senders with their DNS records, composing with a recipient count,
preview as a person, test send, send, progress and report; permissions."""

from __future__ import annotations

from django_tenants.utils import schema_context

from nations.comms import pipeline
from nations.comms.models import Blast, Broadcaster, Delivery
from nations.people.models import Segment
from tests.conftest import client_for

from .conftest import make_people


def test_staff_without_comms_permission_are_refused(alpha):
    client = client_for(alpha.host, alpha.staff, alpha.nation)
    assert client.get("/panel/communication/").status_code == 403
    assert client.get("/panel/communication/senders/").status_code == 403


def test_compose_preview_test_send_and_send_a_blast(alpha, sink):
    owner = client_for(alpha.host, alpha.owner, alpha.nation)
    empty = owner.get("/panel/communication/")
    assert b"No emails yet" in empty.content
    response = owner.post(
        "/panel/communication/senders/",
        {"name": "Équipe Alpha", "from_email": "equipe@alpha.example", "postal_address": "1 rue X"},
    )
    with schema_context(alpha.nation.schema_name):
        sender = Broadcaster.objects.get()
        make_people(4)
        make_people(2, prefix="nc", consent="unknown")
        segment = Segment.objects.create(
            name="Lyonnais",
            definition={"conditions": [{"field": "city", "op": "eq", "value": "Lyon"}]},
        )
    assert response.status_code == 302
    page = owner.get(f"/panel/communication/senders/{sender.pk}/")
    assert b"_domainkey.alpha.example" in page.content and b"v=spf1" in page.content

    response = owner.post(
        "/panel/communication/new/",
        {
            "broadcaster": sender.pk,
            "subject": "Bonjour {{ person.first_name }}",
            "preheader": "La suite",
            "body_html": '<p>Salut {{ person.first_name | default: "ami" }}</p><script>x()</script>',
            "audience": "segment",
            "segment": segment.pk,
        },
    )
    assert response.status_code == 302
    with schema_context(alpha.nation.schema_name):
        blast = Blast.objects.get()
        assert "<script>" not in blast.body_html
    edit = owner.get(f"/panel/communication/{blast.pk}/edit/")
    assert b"Send now to 4" in edit.content
    count = owner.get("/panel/communication/count/", {"audience": "segment", "segment": segment.pk})
    assert b'<strong class="big">4</strong>' in count.content

    with schema_context(alpha.nation.schema_name):
        person_id = Delivery.objects.none() or make_people(1, prefix="preview")[0].pk
    preview = owner.get(f"/panel/communication/{blast.pk}/preview/", {"person": person_id})
    assert b"Salut Preview0" in preview.content

    owner.post(f"/panel/communication/{blast.pk}/test/", {"email": "me@alpha.example"})
    with schema_context(alpha.nation.schema_name):
        test_row = Delivery.objects.get(kind="test")
        assert test_row.priority > 0 and test_row.blast_id is None

    response = owner.post(f"/panel/communication/{blast.pk}/send/")
    assert response.status_code == 302
    with schema_context(alpha.nation.schema_name):
        from django.db import connection

        connection.set_tenant(alpha.nation)
        pipeline.snapshot(blast.pk)
        pipeline.pump("email")
    assert len(sink.messages) == 6  # five Lyon people with consent (4 + the preview one) + the test
    assert sink.to("me@alpha.example")[0]["Subject"].startswith("[Test] Bonjour")
    detail = owner.get(f"/panel/communication/{blast.pk}/")
    assert b"Report" in detail.content and b"5 of 5 sent" in detail.content
    progress = owner.get(f"/panel/communication/{blast.pk}/progress/", HTTP_HX_REQUEST="true")
    assert progress["HX-Refresh"] == "true"


def test_a_blast_is_scheduled_at_the_time_typed_in_the_nations_time_zone(alpha):
    """10:00 typed by a Paris nation's staff is 08:00 UTC in summer, not 10:00 UTC + 2 h."""
    from datetime import UTC, datetime

    from tenants.models import Nation

    before = alpha.nation.timezone
    Nation.objects.filter(pk=alpha.nation.pk).update(timezone="Europe/Paris")
    try:
        owner = client_for(alpha.host, alpha.owner, alpha.nation)
        with schema_context(alpha.nation.schema_name):
            sender = Broadcaster.objects.create(name="Alpha", from_email="team@alpha.example")
            blast = Blast.objects.create(
                broadcaster=sender, subject="Plus tard", body_html="<p>Hi</p>", audience="everyone"
            )
        response = owner.post(
            f"/panel/communication/{blast.pk}/schedule/", {"at": "2031-07-01T10:00"}
        )
        assert response.status_code == 302
        with schema_context(alpha.nation.schema_name):
            blast.refresh_from_db()
        assert blast.status == "scheduled"
        assert blast.scheduled_at == datetime(2031, 7, 1, 8, 0, tzinfo=UTC)
    finally:
        Nation.objects.filter(pk=alpha.nation.pk).update(timezone=before)
