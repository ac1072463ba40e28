"""Talking to X and Mastodon through their official SDKs, with errors sorted into what to do.

X: tweepy's v2 `Client` with OAuth 1.0a user context (the platform's consumer key and secret,
the nation's access token and secret). tweepy always calls https://api.twitter.com; a requests
transport adapter mounted on its session adds a timeout and, with SOCIAL_X_API_BASE set, sends
the already-signed request to that server instead (the local one in dev and tests).
Mastodon: Mastodon.py against the account's instance, rate limits thrown rather than slept on.

Every failure becomes one of: `NeedsReconnect` (the token no longer works: stop, tell staff),
`TryLater` (429, 5xx, network: the pipeline retries with backoff), `Rejected` (the network
refused this post: failed, with its reason)."""

from __future__ import annotations

import ipaddress
import re
import socket
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
import tweepy
from django.conf import settings
from django.utils.translation import gettext as _
from mastodon import Mastodon
from mastodon.errors import (
    MastodonAPIError,
    MastodonError,
    MastodonNetworkError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonUnauthorizedError,
)
from requests_oauthlib import OAuth1Session

X_HOST = "https://api.twitter.com"
TIMEOUT = 15
URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
URL_WEIGHT = 23  # X and Mastodon count every link as 23 characters


class SocialError(Exception):
    """A network refused or failed; the message is for staff."""


class NeedsReconnect(SocialError):
    pass


class TryLater(SocialError):
    pass


class Rejected(SocialError):
    pass


class Duplicate(Rejected):
    """X refused the text as a repeat of one of the account's posts."""


@dataclass
class Identity:
    remote_id: str
    handle: str


@dataclass
class Posted:
    remote_id: str
    url: str


# --- length ----------------------------------------------------------------------------------
def _x_weight(char: str) -> int:
    # twitter-text v3: these ranges (Latin, punctuation…) weigh 1, everything else
    # (CJK, emoji) weighs 2.
    code = ord(char)
    light = code <= 4351 or 8192 <= code <= 8205 or 8208 <= code <= 8223 or 8242 <= code <= 8247
    return 1 if light else 2


def post_length(text: str, network: str) -> int:
    """The length the network counts: links as 23, X's weighted characters."""
    text = unicodedata.normalize("NFC", text)
    links = URL.findall(text)
    rest = URL.sub("", text)
    if network == "x":
        return sum(_x_weight(c) for c in rest) + URL_WEIGHT * len(links)
    return len(rest) + URL_WEIGHT * len(links)


# --- X ---------------------------------------------------------------------------------------
class XAdapter(requests.adapters.HTTPAdapter):
    """Mounted on tweepy's session for https://api.twitter.com: a timeout always, and with a
    base URL set, the request (already signed for api.twitter.com) goes there instead."""

    def __init__(self, base: str = "", timeout: float = TIMEOUT) -> None:
        super().__init__()
        self.base = base.rstrip("/")
        self.timeout = timeout

    def send(self, request, **kwargs):
        if self.base and request.url.startswith(X_HOST):
            request.url = self.base + request.url[len(X_HOST) :]
        kwargs["timeout"] = kwargs.get("timeout") or self.timeout
        return super().send(request, **kwargs)


def x_configured() -> bool:
    return bool(settings.SOCIAL_X_CONSUMER_KEY and settings.SOCIAL_X_CONSUMER_SECRET)


def x_client(token: str, secret: str) -> tweepy.Client:
    if not x_configured():
        raise Rejected(_("X posting is not set up on this platform (no X app keys)."))
    client = tweepy.Client(
        consumer_key=settings.SOCIAL_X_CONSUMER_KEY,
        consumer_secret=settings.SOCIAL_X_CONSUMER_SECRET,
        access_token=token,
        access_token_secret=secret,
    )
    client.session.mount(X_HOST + "/", XAdapter(settings.SOCIAL_X_API_BASE))
    return client


class XAuthorization(tweepy.OAuth1UserHandler):
    """tweepy's 3-legged OAuth 1.0a flow ("Sign in with X"), with our adapter on every session
    it opens (tweepy makes a new one for the access-token exchange)."""

    def __init__(self, callback: str | None = None) -> None:
        if not x_configured():
            raise Rejected(_("X posting is not set up on this platform (no X app keys)."))
        super().__init__(
            settings.SOCIAL_X_CONSUMER_KEY, settings.SOCIAL_X_CONSUMER_SECRET, callback=callback
        )
        self.oauth.mount(X_HOST + "/", XAdapter(settings.SOCIAL_X_API_BASE))

    def get_access_token(self, verifier=None):
        self.oauth = OAuth1Session(
            self.consumer_key,
            client_secret=self.consumer_secret,
            resource_owner_key=self.request_token["oauth_token"],
            resource_owner_secret=self.request_token["oauth_token_secret"],
            verifier=verifier,
            callback_uri=self.callback,
        )
        self.oauth.mount(X_HOST + "/", XAdapter(settings.SOCIAL_X_API_BASE))
        answer = self.oauth.fetch_access_token(self._get_oauth_url("access_token"))
        return answer["oauth_token"], answer["oauth_token_secret"]


def x_authorize_start(callback: str) -> tuple[str, dict]:
    """Where to send the staff member to approve our app, and the request token to keep in
    their session until X sends them back."""
    try:
        handler = XAuthorization(callback)
        url = handler.get_authorization_url()
    except (tweepy.TweepyException, requests.RequestException) as error:
        raise TryLater(_("X could not be reached; try again in a moment.")) from error
    if settings.SOCIAL_X_API_BASE and url.startswith(X_HOST):
        url = settings.SOCIAL_X_API_BASE.rstrip("/") + url[len(X_HOST) :]
    return url, handler.request_token


def x_authorize_finish(request_token: dict, verifier: str) -> tuple[str, str]:
    """The access token and secret X grants for an approved request token."""
    handler = XAuthorization()
    handler.request_token = request_token
    try:
        return handler.get_access_token(verifier)
    except (ValueError, requests.RequestException) as error:  # TokenRequestDenied, TokenMissing
        raise Rejected(
            _("X did not confirm the authorization (expired or refused); please try again.")
        ) from error


def _x_error(error: Exception) -> SocialError:
    if isinstance(error, tweepy.Unauthorized):
        return NeedsReconnect(
            _("X refused the account's access token (revoked or expired). Reconnect the account.")
        )
    if isinstance(error, tweepy.TooManyRequests):
        return TryLater(_("X asked us to slow down (429); the post will be retried."))
    if isinstance(error, tweepy.TwitterServerError):
        return TryLater(
            _("X had a server error (%(status)s); the post will be retried.")
            % {"status": error.response.status_code}
        )
    if isinstance(error, tweepy.Forbidden):
        detail = " ".join(error.api_messages) or str(error)
        if "duplicate" in detail.lower():
            return Duplicate(_("X refused the post: the account already posted the same text."))
        return Rejected(_("X refused the post: %(detail)s") % {"detail": detail[:200]})
    if isinstance(error, tweepy.HTTPException):
        detail = " ".join(error.api_messages) or str(error)
        return Rejected(_("X refused the post: %(detail)s") % {"detail": detail[:200]})
    return TryLater(_("X could not be reached; the post will be retried."))


def x_verify(token: str, secret: str) -> Identity:
    try:
        me = x_client(token, secret).get_me(user_auth=True).data
    except (tweepy.TweepyException, requests.RequestException) as error:
        raise _x_error(error) from error
    return Identity(remote_id=str(me.id), handle=f"@{me.username}")


def x_post(token: str, secret: str, handle: str, text: str) -> Posted:
    try:
        data = x_client(token, secret).create_tweet(text=text, user_auth=True).data
    except (tweepy.TweepyException, requests.RequestException) as error:
        raise _x_error(error) from error
    tweet_id = str(data["id"])
    return Posted(tweet_id, f"https://x.com/{handle.lstrip('@')}/status/{tweet_id}")


# --- Mastodon --------------------------------------------------------------------------------
def instance_base(url: str) -> str:
    """The instance's base URL, checked: https (or http for hosts allowed in dev)."""
    parts = urlsplit((url or "").strip())
    allowed = parts.scheme == "https" or (
        parts.scheme == "http" and settings.SOCIAL_MASTODON_ALLOW_HTTP
    )
    if not allowed or not parts.hostname:
        raise Rejected(
            _("Enter the address of your Mastodon server, like https://mastodon.social.")
        )
    if not settings.SOCIAL_MASTODON_ALLOW_HTTP and _is_internal(parts.hostname):
        # Staff must not make our servers call the platform's own network.
        raise Rejected(_("This address is not a public Mastodon server."))
    return f"{parts.scheme}://{parts.netloc}".lower()


def _is_internal(hostname: str) -> bool:
    try:
        infos = socket.getaddrinfo(hostname, 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return False  # unknown: the verify call will fail with a clear message
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            return True
    return False


def mastodon_client(instance_url: str, token: str) -> Mastodon:
    return Mastodon(
        access_token=token,
        api_base_url=instance_url,
        ratelimit_method="throw",
        version_check_mode="none",
        request_timeout=TIMEOUT,
    )


def _mastodon_error(error: Exception) -> SocialError:
    if isinstance(error, MastodonUnauthorizedError) or (
        isinstance(error, MastodonAPIError) and len(error.args) > 1 and error.args[1] == 403
    ):
        return NeedsReconnect(
            _(
                "Mastodon refused the account's access token (revoked or expired). "
                "Reconnect the account."
            )
        )
    if isinstance(error, MastodonRatelimitError):
        return TryLater(_("Mastodon asked us to slow down (429); the post will be retried."))
    if isinstance(error, MastodonServerError):
        return TryLater(
            _("Mastodon had a server error (%(status)s); the post will be retried.")
            % {"status": error.args[1] if len(error.args) > 1 else "5xx"}
        )
    if isinstance(error, MastodonNetworkError):
        return TryLater(_("The Mastodon server could not be reached; the post will be retried."))
    if isinstance(error, MastodonAPIError):
        detail = error.args[3] if len(error.args) > 3 else str(error)
        return Rejected(_("Mastodon refused the post: %(detail)s") % {"detail": str(detail)[:200]})
    return TryLater(_("The Mastodon server could not be reached; the post will be retried."))


def mastodon_verify(instance_url: str, token: str) -> Identity:
    try:
        me = mastodon_client(instance_url, token).account_verify_credentials()
    except (MastodonError, requests.RequestException) as error:
        raise _mastodon_error(error) from error
    host = urlsplit(instance_url).netloc
    return Identity(remote_id=str(me["id"]), handle=f"@{me['username']}@{host}")


def mastodon_post(instance_url: str, token: str, text: str, *, idempotency_key: str) -> Posted:
    """Mastodon keeps an Idempotency-Key for an hour: a retry of the same delivery returns the
    status already made rather than a second one."""
    try:
        status = mastodon_client(instance_url, token).status_post(
            text, idempotency_key=idempotency_key
        )
    except (MastodonError, requests.RequestException) as error:
        raise _mastodon_error(error) from error
    return Posted(str(status["id"]), str(status.get("url") or status.get("uri") or ""))
