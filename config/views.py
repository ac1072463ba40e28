from django.shortcuts import render
from django.utils.translation import gettext as _


def rate_limited(request, exception=None):
    return render(
        request,
        "errors/plain.html",
        {
            "title": _("Too many attempts"),
            "message": _(
                "Too many attempts from your connection. Please wait a few minutes and try again."
            ),
        },
        status=429,
    )


def not_found(request, exception=None):
    return render(
        request,
        "errors/plain.html",
        {"title": _("Page not found"), "message": _("There is nothing at this address.")},
        status=404,
    )


def server_error(request):
    return render(
        request,
        "errors/plain.html",
        {
            "title": _("Something went wrong"),
            "message": _("An error occurred on our side. It has been reported; please try again."),
        },
        status=500,
    )
