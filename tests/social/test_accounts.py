"""Connecting X and Mastodon accounts: credentials checked with the network, tokens encrypted."""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

import requests
from django.db import connection

from config import crypto
from nations.social.models import SocialAccount
from tests.comms.conftest import NationClient


def test_connecting_x_checks_the_keys_and_shows_the_handle(social, staff):
    response = staff.post(
        "/panel/communication/social/accounts/connect/x/",
        {"x-access_token": "x-alpha-token", "x-access_secret": "x-alpha-secret"},
        follow=True,
    )
    assert response.status_code == 200
    assert "Connected @alpha_nation." in response.content.decode()
    account = SocialAccount.objects.get()
    assert (account.network, account.handle, account.status) == ("x", "@alpha_nation", "connected")
    me = social.recorded("GET", "/2/users/me")
    assert len(me) == 1 and me[0].signature_verified is True


def test_wrong_x_keys_are_refused_with_a_clear_message_and_nothing_saved(social, staff):
    response = staff.post(
        "/panel/communication/social/accounts/connect/x/",
        {"x-access_token": "x-alpha-token", "x-access_secret": "not-the-secret"},
    )
    assert response.status_code == 400
    assert "X refused the account&#x27;s access token" in response.content.decode()
    assert not SocialAccount.objects.exists()
    assert social.recorded("GET", "/2/users/me")[0].signature_verified is False


def test_connecting_mastodon_verifies_credentials(social, staff):
    response = staff.post(
        "/panel/communication/social/accounts/connect/mastodon/",
        {"mastodon-instance_url": social.url + "/", "mastodon-access_token": "m-alpha-token"},
        follow=True,
    )
    host = social.url.split("//")[1]
    assert f"Connected @alpha@{host}." in response.content.decode()
    assert SocialAccount.objects.get().instance_url == social.url
    bad = staff.post(
        "/panel/communication/social/accounts/connect/mastodon/",
        {"mastodon-instance_url": social.url, "mastodon-access_token": "nope"},
    )
    assert bad.status_code == 400 and "Reconnect the account" in bad.content.decode()
    assert SocialAccount.objects.count() == 1


def test_mastodon_must_be_https_outside_dev(social, staff, settings):
    settings.SOCIAL_MASTODON_ALLOW_HTTP = False
    response = staff.post(
        "/panel/communication/social/accounts/connect/mastodon/",
        {"mastodon-instance_url": social.url, "mastodon-access_token": "m-alpha-token"},
    )
    assert response.status_code == 400
    assert "like https://mastodon.social" in response.content.decode()
    assert social.recorded("GET", "/api/v1/accounts/verify_credentials") == []


def test_tokens_are_encrypted_at_rest(x_account, mastodon_account):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT network, access_token, access_secret FROM social_socialaccount ORDER BY network"
        )
        rows = cursor.fetchall()
    stored = {network: (token, secret) for network, token, secret in rows}
    for network, plain in (("x", "x-alpha-token"), ("mastodon", "m-alpha-token")):
        token = stored[network][0]
        assert plain not in token and token.startswith("gAAAA")  # a Fernet token
        assert crypto.decrypt(token) == plain
    assert "x-alpha-secret" not in stored["x"][1]
    assert SocialAccount.objects.get(network="x").access_secret == "x-alpha-secret"


def test_accounts_page_lists_accounts_and_the_empty_state(social, staff):
    empty = staff.get("/panel/communication/social/accounts/").content.decode()
    assert "No accounts connected" in empty
    staff.post(
        "/panel/communication/social/accounts/connect/x/",
        {"x-access_token": "x-alpha-token", "x-access_secret": "x-alpha-secret"},
    )
    page = staff.get("/panel/communication/social/accounts/").content.decode()
    assert "@alpha_nation" in page and "x-alpha-token" not in page


def _x_approves(social, location: str, username: str) -> str:
    """The staff member, on X's authorize page, approves as `username`; returns X's redirect."""
    page = requests.get(location, timeout=5).text
    links = dict(
        (text, html.unescape(href))
        for href, text in re.findall(
            r'<a href="(/oauth/approve\?[^"]+)">Authorize as @(\w+)<', page
        )
    )
    answer = requests.get(social.url + links[username], allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    return answer.headers["Location"]


def test_sign_in_with_x_connects_the_account_through_the_three_legged_flow(social, staff):
    start = staff.post("/panel/communication/social/accounts/connect/x/start/")
    assert start.status_code == 302
    assert start["Location"].startswith(f"{social.url}/oauth/authorize?oauth_token=request-")
    back = urlsplit(_x_approves(social, start["Location"], "alpha_nation"))
    assert back.path == "/panel/communication/social/accounts/connect/x/callback/"
    done = staff.get(f"{back.path}?{back.query}", follow=True)
    assert "Connected @alpha_nation." in done.content.decode()
    account = SocialAccount.objects.get()
    assert (account.access_token, account.access_secret) == ("x-alpha-token", "x-alpha-secret")
    for path in ("/oauth/request_token", "/oauth/access_token"):
        [exchange] = social.recorded("POST", path)
        assert exchange.signature_verified and exchange.status == 200


def test_an_x_callback_not_started_by_this_session_connects_nothing(social, staff, alpha):
    # An authorization approved in another session (another browser), replayed here.
    other = NationClient(alpha, alpha.owner)
    start = other.post("/panel/communication/social/accounts/connect/x/start/")
    back = urlsplit(_x_approves(social, start["Location"], "alpha_nation"))
    response = staff.get(f"{back.path}?{back.query}", follow=True)
    assert "not the one started here" in response.content.decode()
    denied = staff.get(
        "/panel/communication/social/accounts/connect/x/callback/?denied=request-1", follow=True
    )
    assert "no account was connected" in denied.content.decode()
    assert not SocialAccount.objects.exists()


def test_mastodon_addresses_inside_the_platform_network_are_refused(social, staff, settings):
    settings.SOCIAL_MASTODON_ALLOW_HTTP = False
    for address in ("https://127.0.0.1:8443", "https://localhost", "https://10.1.2.3"):
        response = staff.post(
            "/panel/communication/social/accounts/connect/mastodon/",
            {"mastodon-instance_url": address, "mastodon-access_token": "m-alpha-token"},
        )
        assert "not a public Mastodon server" in response.content.decode(), address
    assert not SocialAccount.objects.exists()


def test_the_social_pages_speak_french(social, staff, x_account):
    staff.client.cookies["django_language"] = "fr"
    posts = staff.get("/panel/communication/social/").content.decode()
    assert "Aucune publication sociale pour l'instant" in posts
    assert "Nouvelle publication" in posts and "Publications automatiques" in posts
    accounts = staff.get("/panel/communication/social/accounts/").content.decode()
    assert "Se connecter avec X" in accounts and "Connecté" in accounts
    assert "Connect Mastodon" not in accounts and "No accounts" not in accounts
    form = staff.post(
        "/panel/communication/social/new/",
        {"text": "a" * 281, "accounts": [x_account.pk], "when": "now"},
    ).content.decode()
    assert "Trop long pour X (Twitter) : 281 caractères" in form
