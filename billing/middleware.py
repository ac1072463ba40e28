"""Read-only panel: once a nation's payments are 7 days overdue, panel writes are refused with
a page that says why and links to billing; reads keep working. Billing itself stays writable."""

from __future__ import annotations

from django.shortcuts import render

from .state import BILLING_PATHS, is_read_only

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
ALWAYS_OPEN = BILLING_PATHS + ("/panel/password-reset/",)


class ReadOnlyPanelMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        nation = getattr(request, "tenant", None)
        if (
            nation is not None
            and request.method not in SAFE_METHODS
            and request.path.startswith("/panel/")
            and request.user.is_authenticated
            and not request.path.startswith(ALWAYS_OPEN)
            and is_read_only(nation)
        ):
            return render(request, "billing/read_only.html", {"nation": nation}, status=423)
        return self.get_response(request)
