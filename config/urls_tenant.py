"""URLs of a nation's hosts (its schema): the control panel and the public site.

Every pattern here is crawled by tests/isolation/test_crawler.py from another nation; a pattern
with a new URL parameter needs a resolver registered in tests/isolation/registry.py."""

from django.urls import include, path
from django.views.i18n import set_language

urlpatterns = [
    path("i18n/setlang/", set_language, name="set_language"),
    path("panel/", include("nations.panel.urls")),
    path("e/", include("nations.comms.urls_public")),
    path("", include("nations.donations.urls_public")),
    path("", include("nations.site.urls")),
]

handler404 = "config.views.not_found"
handler500 = "config.views.server_error"
