"""The bounce mailbox poller (beat's `comms.poll_bounces`): reports read over IMAP from a real
IMAP server on 127.0.0.1, and from a Maildir, are applied once and removed; hard bounces stop
future sends; messages that are not our reports are left, marked seen."""

from __future__ import annotations

import mailbox

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from nations.comms import pipeline, tasks
from nations.comms.models import DeliveryEvent
from nations.people.models import PersonEmail

from .imap_server import Mailbox, Server
from .test_bounces import delivered, dsn  # noqa: F401 - the fixture

NOT_A_REPORT = b"From: someone@example.org\r\nSubject: Out of office\r\n\r\nBack Monday.\r\n"


@pytest.fixture
def imap(settings):
    box = Mailbox("bounces", "p@ss word")
    server = Server(box)
    settings.COMMS_BOUNCE_IMAP_URL = f"imap://bounces:p%40ss%20word@127.0.0.1:{server.port}/INBOX"
    settings.COMMS_BOUNCE_MAILDIR = ""
    yield box
    server.stop()


def test_the_imap_bounce_mailbox_is_polled_and_hard_bounces_stop_sends(
    delivered,  # noqa: F811
    in_alpha,
    sink,
    imap,
):
    people, rows = delivered
    hard = dsn(rows[people[0].pk].message_id)
    soft = dsn(rows[people[1].pk].message_id, "4.2.2", "delayed")
    for raw in (hard, soft, NOT_A_REPORT):
        imap.add(raw)
    connection.set_schema_to_public()  # beat runs the poller outside any nation
    assert tasks.poll_bounces() == {"bounce": 1, "soft": 1, "ignored": 1}
    assert imap.logins == ["bounces"]
    assert list(imap.messages.values()) == [NOT_A_REPORT]  # left for a human, marked seen
    assert tasks.poll_bounces() == {}  # nothing new

    imap.add(hard)  # the same report again (a poll that died before deleting it): applied once
    assert tasks.poll_bounces() == {"ignored": 1}
    with schema_context(in_alpha.nation.schema_name):
        connection.set_tenant(in_alpha.nation)
        assert PersonEmail.objects.get(address=people[0].email).status == "bounced"
        assert not PersonEmail.objects.filter(address=people[1].email, status="bounced").exists()
        assert DeliveryEvent.objects.filter(kind="bounced").count() == 1
        sink.clear()
        from .conftest import make_blast
        from .test_pipeline import start

        start(make_blast(subject="Next"), in_alpha.nation)
        pipeline.pump("email")
        assert sink.to(people[0].email) == [] and len(sink.to(people[1].email)) == 1


def test_a_maildir_bounce_mailbox_is_polled(delivered, in_alpha, settings, tmp_path):  # noqa: F811
    people, rows = delivered
    folder = tmp_path / "bounces"
    box = mailbox.Maildir(folder, create=True)
    box.add(dsn(rows[people[2].pk].message_id))
    box.add(NOT_A_REPORT)
    settings.COMMS_BOUNCE_IMAP_URL = ""
    settings.COMMS_BOUNCE_MAILDIR = str(folder)
    connection.set_schema_to_public()
    assert tasks.poll_bounces() == {"bounce": 1, "ignored": 1}
    assert tasks.poll_bounces() == {}
    assert len(mailbox.Maildir(folder, create=False)) == 1  # the out-of-office, now seen
    with schema_context(in_alpha.nation.schema_name):
        assert PersonEmail.objects.get(address=people[2].email).status == "bounced"


def test_wrong_mailbox_credentials_fail_loudly(settings, imap):
    import imaplib

    settings.COMMS_BOUNCE_IMAP_URL = settings.COMMS_BOUNCE_IMAP_URL.replace("p%40ss", "nope")
    with pytest.raises(imaplib.IMAP4.error):
        tasks.poll_bounces()
