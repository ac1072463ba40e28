"""Connecting X and Mastodon accounts: credentials checked with the network, tokens encrypted."""

from __future__ import annotations

from django.db import connection

from config import crypto
from nations.social.models import SocialAccount


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
