"""A nation's own sending backend: its SMTP relay (a second real SMTP server, with login)
carries its mail instead of the platform's; the password is stored encrypted; a relay that
refuses the login is not saved; another nation still sends through the platform."""

from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from django.db import connection
from django_tenants.utils import schema_context

from nations.comms import actions, pipeline
from nations.comms.models import SendingBackend
from tests.conftest import free_port

from .conftest import NationClient, Sink, make_blast, make_people
from .test_pipeline import start


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data == (b"alpha", b"s3cret-relay")
    return AuthResult(success=ok)


@pytest.fixture
def relay(settings):
    sink = Sink()
    controller = Controller(
        sink,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=_authenticator,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    settings.COMMS_NATION_RELAY_ALLOW_PRIVATE = True
    yield controller.port, sink
    controller.stop()


def _form(port: int, password: str) -> dict:
    return {
        "kind": "smtp",
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "none",
        "smtp_username": "alpha",
        "smtp_password": password,
    }


def test_a_nations_own_relay_carries_its_mail_and_not_the_others(in_alpha, sink, relay, bravo):
    port, relay_sink = relay
    panel = NationClient(in_alpha, in_alpha.owner)
    response = panel.post("/panel/communication/sending/", _form(port, "wrong"))
    assert response.status_code == 200
    assert "did not accept the connection" in response.content.decode()
    assert not SendingBackend.objects.exists()  # nothing saved

    response = panel.post("/panel/communication/sending/", _form(port, "s3cret-relay"))
    assert response.status_code == 302
    with connection.cursor() as cursor:
        cursor.execute("SELECT smtp_password FROM comms_sendingbackend")
        stored = cursor.fetchone()[0]
    assert stored and "s3cret-relay" not in stored  # encrypted at rest
    assert SendingBackend.objects.get().smtp_password == "s3cret-relay"
    page = panel.get("/panel/communication/sending/").content.decode()
    assert "s3cret-relay" not in page and "Stored (encrypted)" in page

    make_people(5, prefix="relayed")
    start(make_blast(), in_alpha.nation)
    actions.transactional_send(
        to="donor@example.org", subject="Merci", text="Merci !", from_email="team@alpha.example"
    )
    pipeline.pump("email")
    assert len(relay_sink.messages) == 6 and sink.messages == []
    assert len(relay_sink.to("relayed3@example.org")) == 1

    # Editing without retyping the password keeps it.
    form = _form(port, "")
    assert panel.post("/panel/communication/sending/", form).status_code == 302
    assert SendingBackend.objects.get().smtp_password == "s3cret-relay"

    # Nation bravo has no relay of its own: the platform's server carries its mail.
    with schema_context(bravo.nation.schema_name):
        connection.set_tenant(bravo.nation)
        assert not SendingBackend.objects.exists()
        make_people(2, prefix="bravo")
        start(make_blast(), bravo.nation)
        pipeline.pump("email")
    connection.set_tenant(in_alpha.nation)
    assert len(sink.messages) == 2 and len(relay_sink.messages) == 6

    # Back to the platform: alpha's next mail goes through the platform's server again.
    assert panel.post("/panel/communication/sending/", {"kind": "platform"}).status_code == 302
    start(make_blast(subject="Again"), in_alpha.nation)
    pipeline.pump("email")
    assert len(sink.messages) == 7 and len(relay_sink.messages) == 6


def test_a_relay_on_a_private_address_is_refused_by_default(in_alpha, settings):
    settings.COMMS_NATION_RELAY_ALLOW_PRIVATE = False
    with pytest.raises(actions.BackendError, match="private address"):
        actions.sending_backend_save(kind="smtp", smtp_host="127.0.0.1", smtp_port=6379)
    with pytest.raises(actions.BackendError, match="API key"):
        actions.sending_backend_save(kind="esp", esp="postmark", esp_api_key="")
    assert not SendingBackend.objects.exists()


def test_staff_without_settings_permission_cannot_see_the_sending_backend(alpha):
    from django_tenants.utils import schema_context as in_schema

    from tenants.models import Membership
    from tests.conftest import client_for

    client = client_for(alpha.host, alpha.staff, alpha.nation)
    assert client.get("/panel/communication/sending/").status_code == 403
    with in_schema("public"):
        Membership.objects.filter(user=alpha.staff, nation=alpha.nation).update(
            permissions=["comms.send"]
        )
    senders = client.get("/panel/communication/senders/").content.decode()
    assert "Senders" in senders and "Sending service" not in senders  # no tab to a 403
    owner = client_for(alpha.host, alpha.owner, alpha.nation)
    assert "Sending service" in owner.get("/panel/communication/senders/").content.decode()


@pytest.fixture
def postmark_api(settings):
    """A local server speaking Postmark's /email API, recording what the official anymail
    backend sends it over real HTTP."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    calls: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            calls.append(
                {"path": self.path, "token": self.headers.get("X-Postmark-Server-Token"), **body}
            )
            answer = json.dumps(
                {"To": body["To"], "SubmittedAt": "2026-01-01T00:00:00Z", "ErrorCode": 0,
                 "MessageID": f"pm-{len(calls)}", "Message": "OK"}
            ).encode()  # fmt: skip
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.ANYMAIL = {
        **settings.ANYMAIL,
        "POSTMARK_API_URL": f"http://127.0.0.1:{server.server_port}/",
    }
    yield calls
    server.shutdown()
    server.server_close()


def test_a_nations_own_esp_account_carries_its_mail_with_its_key(in_alpha, sink, postmark_api):
    panel = NationClient(in_alpha, in_alpha.owner)
    response = panel.post(
        "/panel/communication/sending/",
        {"kind": "esp", "esp": "postmark", "esp_api_key": "pm-alpha-key"},
    )
    assert response.status_code == 302
    make_people(3, prefix="esp")
    start(make_blast(), in_alpha.nation)
    pipeline.pump("email")
    assert sink.messages == []
    assert len(postmark_api) == 3
    assert {c["token"] for c in postmark_api} == {"pm-alpha-key"}
    assert {c["path"] for c in postmark_api} == {"/email"}
    assert sorted(c["To"] for c in postmark_api) == [f"esp{i}@example.org" for i in range(3)]
    assert all("/e/u/" in c["HtmlBody"] for c in postmark_api)
