"""The People area of the control panel, mounted at /panel/people/ (namespace panel:people).

Each part has its own URL module so they can grow independently:
profile (list, profile, edit, tags, notes, merge, privacy), segments and lists, imports and
exports."""

from django.urls import include, path

from .views import profile

app_name = "people"

urlpatterns = [
    path("", profile.people_list, name="list"),
    path("<int:person_id>/", profile.person_detail, name="detail"),
    path("", include("nations.people.urls_profile")),
    path("", include("nations.people.urls_segments")),
    path("", include("nations.people.urls_exports")),
    path("imports/", include("nations.imports.urls")),
]
