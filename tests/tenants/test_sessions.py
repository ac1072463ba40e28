"""Sessions are per host and per schema: a session of nation A never authenticates on B."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from tests.conftest import PASSWORD, client_for

pytestmark = pytest.mark.django_db


def login(host: str, email: str, password: str = PASSWORD) -> Client:
    browser = Client(HTTP_HOST=host)
    response = browser.post("/panel/login/", {"email": email, "password": password})
    assert response.status_code == 302, response.content.decode()[:500]
    return browser


def test_cookies_are_host_only_and_http_only(alpha):
    browser = login(alpha.host, alpha.owner.email)
    cookie = browser.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["domain"] == ""  # host-only: the browser sends it to alpha.localhost alone
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"


def test_a_session_of_nation_a_is_not_valid_on_nation_b(alpha, bravo):
    browser = login(alpha.host, alpha.owner.email)
    assert browser.get("/panel/people/").status_code == 200
    # Replay alpha's session cookie against bravo's host, as a stolen cookie would be.
    stolen = Client(HTTP_HOST=bravo.host)
    stolen.cookies[settings.SESSION_COOKIE_NAME] = browser.cookies[
        settings.SESSION_COOKIE_NAME
    ].value
    response = stolen.get("/panel/people/")
    assert response.status_code == 302 and response["Location"].startswith("/panel/login/")
    # ...and on the platform host.
    platform = Client(HTTP_HOST="localhost")
    platform.cookies[settings.SESSION_COOKIE_NAME] = browser.cookies[
        settings.SESSION_COOKIE_NAME
    ].value
    assert platform.get("/nations/").status_code == 302


def test_a_user_without_membership_cannot_log_in_to_a_nation(alpha, bravo):
    browser = Client(HTTP_HOST=bravo.host)
    response = browser.post("/panel/login/", {"email": alpha.owner.email, "password": PASSWORD})
    assert response.status_code == 200
    assert "do not give access to Bravo Nation" in response.content.decode()
    assert browser.get("/panel/").status_code == 302


def test_wrong_password_is_refused_and_login_is_rate_limited(alpha):
    browser = Client(HTTP_HOST=alpha.host)
    statuses = [
        browser.post("/panel/login/", {"email": alpha.owner.email, "password": "wrong"}).status_code
        for _ in range(21)
    ]
    assert statuses[:20] == [200] * 20
    assert statuses[20] == 429
    blocked = browser.post("/panel/login/", {"email": alpha.owner.email, "password": PASSWORD})
    assert blocked.status_code == 429


def test_one_login_several_nations_via_my_nations(alpha, bravo):
    from tenants.models import Membership

    Membership.objects.create(user=alpha.owner, nation=bravo.nation, role="admin")
    platform = client_for("localhost", alpha.owner)
    page = platform.get("/nations/").content.decode()
    assert "Alpha Nation" in page and "Bravo Nation" in page
    handoff = platform.post(f"/nations/{bravo.nation.pk}/open/")
    assert handoff["Location"].startswith("http://bravo.localhost:8000/panel/welcome/")
    browser = Client(HTTP_HOST="bravo.localhost:8000")
    landed = browser.get(handoff["Location"].split(":8000", 1)[1], follow=True)
    assert landed.status_code == 200 and "Bravo Nation" in landed.content.decode()


def test_a_handoff_ticket_only_works_on_its_own_nation(alpha, bravo):
    platform = client_for("localhost", alpha.owner)
    handoff = platform.post(f"/nations/{alpha.nation.pk}/open/")["Location"]
    path = handoff.split(":8000", 1)[1]
    on_bravo = Client(HTTP_HOST=bravo.host).get(path)
    assert on_bravo["Location"].startswith("/panel/login/")
    assert Client(HTTP_HOST=bravo.host).get("/panel/").status_code == 302


def test_password_reset_by_email_on_a_nation_host(
    alpha, bravo, mailbox, eager_tasks, django_capture_on_commit_callbacks
):
    from django_tenants.utils import schema_context

    from nations.comms.models import Delivery

    browser = Client(HTTP_HOST=alpha.host)
    with django_capture_on_commit_callbacks(execute=True):
        browser.post("/panel/password-reset/", {"email": alpha.owner.email})
    [message] = mailbox.to(alpha.owner.email)
    with schema_context(alpha.nation.schema_name):
        # Sent through alpha's delivery pipeline, and the link is not kept once it has left.
        [row] = Delivery.objects.filter(kind="password_reset", address=alpha.owner.email)
        assert (row.status, row.payload) == ("sent", None)
    body = message.get_body(("plain",)).get_content()
    link = next(line for line in body.splitlines() if "/panel/password-reset/" in line)
    assert link.startswith(f"http://{alpha.host}/panel/password-reset/")
    form = browser.get(link.split(alpha.host, 1)[1], follow=True)
    assert form.status_code == 200
    new = "a-brand-new-passphrase-77"
    done = browser.post(form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert done.status_code == 302
    login(alpha.host, alpha.owner.email, new)
    # Bravo's host does not send reset links to alpha's staff.
    mailbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        Client(HTTP_HOST=bravo.host).post("/panel/password-reset/", {"email": alpha.owner.email})
    assert mailbox.to(alpha.owner.email) == []
    with schema_context(bravo.nation.schema_name):
        assert not Delivery.objects.filter(address=alpha.owner.email).exists()


def test_an_owner_of_a_nation_suspended_for_non_payment_is_taken_to_billing(alpha, bravo):
    from billing.models import Subscription
    from billing.state import subscription_for
    from tenants.actions import nation_suspend

    subscription_for(alpha.nation)
    Subscription.objects.filter(nation=alpha.nation).update(suspended_by_billing=True)
    nation_suspend(nation=alpha.nation)
    platform = client_for("localhost", alpha.owner)
    handoff = platform.post(f"/nations/{alpha.nation.pk}/open/")
    path = handoff["Location"].split(":8000", 1)[1]
    landed = Client(HTTP_HOST="alpha.localhost:8000").get(path)
    assert landed.status_code == 302 and landed["Location"] == "/panel/settings/billing/"
    # A nation suspended by the operator stays closed, even to its owner.
    nation_suspend(nation=bravo.nation)
    refused = client_for("localhost", bravo.owner).post(f"/nations/{bravo.nation.pk}/open/")
    assert refused["Location"] == "/nations/"
