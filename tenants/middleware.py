"""From a request's host to a nation's schema (see docs/ARCHITECTURE.md).

NationRoutingMiddleware runs first: the platform's hosts get the public schema and URLconf;
a nation's subdomain or verified custom domain gets that nation's schema and the tenant URLconf;
every other host gets a plain 404 that names no nation."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpResponseBadRequest
from django.shortcuts import render
from django.urls import set_urlconf
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _

from .hosts import is_platform_host
from .models import Nation
from .routing import nation_for_host

HOST_RE_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-.")


def request_hostname(request) -> str | None:
    """The Host header's name part, lowercased; None if it is not a plausible host name."""
    raw = request.META.get("HTTP_X_FORWARDED_HOST") if settings.USE_X_FORWARDED_HOST else None
    raw = (raw or request.META.get("HTTP_HOST") or request.META.get("SERVER_NAME", "")).strip()
    host = raw.lower()
    if host.startswith("["):
        return None
    host = host.rsplit(":", 1)[0] if ":" in host else host
    host = host.rstrip(".")
    if not host or len(host) > 253 or not set(host) <= HOST_RE_CHARS:
        return None
    return host


class NationRoutingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        connection.set_schema_to_public()
        host = request_hostname(request)
        if host is None:
            return HttpResponseBadRequest("Bad Request", content_type="text/plain")
        request.tenant = None
        request.is_platform = False
        if is_platform_host(host):
            request.is_platform = True
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
        else:
            nation = nation_for_host(host)
            if nation is None:
                return render(request, "errors/unknown_host.html", status=404)
            connection.set_tenant(nation)
            request.tenant = nation
            request.urlconf = settings.ROOT_URLCONF
        set_urlconf(request.urlconf)
        try:
            response = self.get_response(request)
        finally:
            set_urlconf(None)
            connection.set_schema_to_public()
        if request.tenant is not None and getattr(response, "streaming", False):
            # A streamed body (CSV exports) is produced after this middleware has returned:
            # run its generator inside the nation's schema too.
            response.streaming_content = _in_schema(request.tenant, response.streaming_content)
        return response


def _in_schema(nation, chunks):
    connection.set_tenant(nation)
    try:
        yield from chunks
    finally:
        connection.set_schema_to_public()


class NationLocaleMiddleware:
    """The visitor's chosen language if they picked one, else the nation's (or the browser's on
    the platform's own pages)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        supported = {code for code, _name in settings.LANGUAGES}
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if chosen in supported:
            language = chosen
        elif request.tenant is not None:
            language = request.tenant.language
        else:
            language = translation.get_language_from_request(request)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
        return response


class NationStatusMiddleware:
    """A suspended nation, or one scheduled for deletion, is closed: the public site shows a
    neutral 'unavailable' page and the panel is locked. Nothing is deleted."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        nation = request.tenant
        if nation is not None and nation.status != Nation.Status.ACTIVE:
            from billing.state import panel_open_while_suspended

            if panel_open_while_suspended(request):  # to pay is to come back
                return self.get_response(request)
            if request.path.startswith("/panel/"):
                return render(
                    request,
                    "errors/plain.html",
                    {
                        "title": _("This control panel is locked"),
                        "message": _(
                            "This nation is suspended. Its data is kept. Contact the "
                            "platform's support to reactivate it."
                        ),
                    },
                    status=423,
                )
            return render(request, "errors/unavailable.html", status=503)
        return self.get_response(request)
