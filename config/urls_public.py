"""URLs of the platform's own host (public schema): signup, accounts, operator console."""

from django.urls import include, path
from django.views.i18n import set_language

from tenants.urls import operator_patterns

urlpatterns = [
    path("i18n/setlang/", set_language, name="set_language"),
    path("operator/", include(operator_patterns)),
    path("", include("tenants.urls")),
]

handler404 = "config.views.not_found"
handler500 = "config.views.server_error"
