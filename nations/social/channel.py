"""The social channel of the comms pipeline: one claimed delivery = one post on one account.

Registered in nations.comms.channels.HANDLERS. The pipeline claims the rows, rate-limits,
journals the hand-over, and marks them; this handler only posts and sorts the outcome:
- the network's status id is saved on the PostTarget the moment it answers, so a row claimed
  again (after a crash before the mark) is marked sent without posting twice;
- Mastodon gets an Idempotency-Key per delivery; X refuses a repeat of the same text, which after
  an attempt that may have gone through (5xx, timeout) means "already posted";
- a revoked token fails the row at once and marks the account "needs reconnecting" (later rows
  for it fail without calling the network); 429, 5xx and network errors go back to the queue
  with the pipeline's backoff, up to its attempt limit."""

from __future__ import annotations

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from nations.comms.pipeline import BatchResult, Claimed

from . import networks
from .models import Network, PostTarget, SocialAccount


def _post(target: PostTarget, row: Claimed) -> networks.Posted:
    account = target.account
    if account.network == Network.X:
        return networks.x_post(
            account.access_token, account.access_secret, account.handle, target.text
        )
    return networks.mastodon_post(
        account.instance_url,
        account.access_token,
        target.text,
        idempotency_key=f"nations-{connection.schema_name}-{row.id}",
    )


class SocialHandler:
    meter = None  # social posts are not a metered plan resource
    subjects: dict[int, str] = {}

    def __init__(self, nation) -> None:
        self.nation = nation

    def send_batch(self, rows: list[Claimed], result: BatchResult, journal) -> None:
        targets = {
            t.delivery_id: t
            for t in PostTarget.objects.select_related("account").filter(
                delivery_id__in=[r.id for r in rows]
            )
        }
        revoked: set[int] = set()
        for row in rows:
            target = targets.get(row.id)
            if target is None:
                result.skipped.append((row, _("post or account deleted")))
                continue
            if target.remote_id:
                result.sent.append(row)
                continue
            if not target.account.is_connected or target.account_id in revoked:
                result.failed.append((row, _("The account needs reconnecting.")))
                continue
            journal(row.id)
            try:
                posted = _post(target, row)
            except networks.NeedsReconnect as error:
                SocialAccount.objects.filter(pk=target.account_id).update(
                    status=SocialAccount.Status.RECONNECT, status_message=str(error)[:300]
                )
                revoked.add(target.account_id)
                result.failed.append((row, str(error)))
            except networks.TryLater as error:
                result.retry.append((row, str(error)))
            except networks.Duplicate as error:
                # `attempts` counts earlier claims: one of them went through unanswered.
                if row.attempts > 0:
                    PostTarget.objects.filter(pk=target.pk).update(posted_at=timezone.now())
                    result.sent.append(row)
                else:
                    result.failed.append((row, str(error)))
            except networks.Rejected as error:
                result.failed.append((row, str(error)))
            else:
                PostTarget.objects.filter(pk=target.pk).update(
                    remote_id=posted.remote_id, remote_url=posted.url, posted_at=timezone.now()
                )
                result.sent.append(row)

    def close(self) -> None:
        pass
