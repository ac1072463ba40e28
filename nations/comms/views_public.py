"""Recipient-facing endpoints. A token that does not verify for this nation is a plain 404
(tokens of another nation, guessed ids, truncated links)."""

from __future__ import annotations

import base64
import contextlib

from django.db import connection
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from nations.people.models import Consent, Person

from . import actions
from .models import Blast, Delivery
from .tokens import read_token

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def masked(address: str) -> str:
    """Enough of the address for its owner to recognise it; a forwarded email's unsubscribe
    link shows a stranger nothing whole."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}•••{local[-1:] if len(local) > 2 else ''}@{domain}"


def _delivery(token: str) -> Delivery:
    delivery_id = read_token(connection.schema_name, token)
    if delivery_id is None:
        raise Http404
    delivery = Delivery.objects.filter(pk=delivery_id).first()
    if delivery is None:
        raise Http404
    return delivery


@never_cache
def opened(request, token: str):
    with contextlib.suppress(Http404):  # the pixel is always a pixel: nothing to learn by probing
        actions.delivery_opened(delivery=_delivery(token))
    return HttpResponse(PIXEL, content_type="image/gif")


@never_cache
def clicked(request, token: str, link: int):
    """Redirect only to the link the blast itself contained, by its index: there is no URL in
    the request to tamper with, so this cannot be an open redirect."""
    delivery = _delivery(token)
    links = (
        Blast.objects.filter(pk=delivery.blast_id).values_list("links", flat=True).first()
        if delivery.blast_id
        else None
    ) or []
    if not 0 <= link < len(links):
        raise Http404
    url = links[link]
    if not url.lower().startswith(("http://", "https://")):
        raise Http404
    actions.delivery_clicked(delivery=delivery, link=link, url=url)
    return HttpResponseRedirect(url)


@csrf_exempt  # RFC 8058: mailbox providers POST here without our cookies; the token is the key
@never_cache
def preferences(request, token: str):
    delivery = _delivery(token)
    person = (
        Person.objects.filter(pk=delivery.person_id, is_erased=False).first()
        if delivery.person_id
        else None
    )
    done = ""
    if request.method == "POST":
        if (
            request.POST.get("List-Unsubscribe") == "One-Click"
            or request.POST.get("action") == "unsubscribe"
        ):
            actions.unsubscribe(
                delivery=delivery,
                source="one-click" if "List-Unsubscribe" in request.POST else "unsubscribe",
            )
            done = "unsubscribed"
        elif request.POST.get("action") == "resubscribe":
            actions.resubscribe(delivery=delivery)
            done = "resubscribed"
        if "List-Unsubscribe" in request.POST:
            return HttpResponse(status=200)
        if person is not None:
            person.refresh_from_db(fields=["email_consent"])
    subscribed = person is not None and person.email_consent == Consent.GRANTED
    return render(
        request,
        "comms/preferences.html",
        {
            "nation": request.tenant,
            "address": masked(delivery.address),
            "subscribed": subscribed,
            "known": person is not None,
            "done": done,
        },
    )
