"""Nation A cannot read, change or post through nation B's social accounts."""

from __future__ import annotations

from django.db import connection
from django_tenants.utils import schema_context

from nations.comms import pipeline
from nations.social import actions
from nations.social.models import SocialAccount, SocialPost
from tests.comms.conftest import NationClient


def test_a_nation_cannot_see_or_use_another_nations_accounts(social, alpha, bravo):
    with schema_context(alpha.nation.schema_name):
        connection.set_tenant(alpha.nation)
        account = actions.account_connect_x(
            access_token="x-alpha-token", access_secret="x-alpha-secret"
        )
        post = actions.post_create(text="Alpha only", accounts=[account], at=None)
        account_id, post_id = account.pk, post.pk
    with schema_context(bravo.nation.schema_name):
        connection.set_tenant(bravo.nation)
        assert not SocialAccount.objects.exists() and not SocialPost.objects.exists()
        bravo_staff = NationClient(bravo, bravo.owner)
        base = "/panel/communication/social"
        assert bravo_staff.get(f"{base}/{post_id}/").status_code == 404
        assert bravo_staff.post(f"{base}/accounts/{account_id}/disconnect/").status_code == 404
        assert (
            bravo_staff.post(
                f"{base}/accounts/{account_id}/autopost/", {"autopost": "on"}
            ).status_code
            == 404
        )
        listing = bravo_staff.get(f"{base}/accounts/").content.decode()
        assert "@alpha_nation" not in listing
        # Bravo's pump never takes alpha's queued post.
        assert pipeline.pump("social")["sent"] == 0
        assert social.recorded("POST", "/2/tweets") == []
        # Bravo's form cannot name alpha's account id.
        response = bravo_staff.post(
            f"{base}/new/", {"text": "hijack", "accounts": [account_id], "when": "now"}
        )
        assert response.status_code == 302  # no connected account in bravo: sent to connect
        assert not SocialPost.objects.exists()
    with schema_context(alpha.nation.schema_name):
        connection.set_tenant(alpha.nation)
        assert SocialAccount.objects.filter(pk=account_id, autopost=False).exists()
        assert pipeline.pump("social")["sent"] == 1
