"""URLs of the People area (profile); included by nations/people/urls.py."""

from django.urls import path

from .views import custom_fields, merge, privacy, profile

urlpatterns = [
    path("new/", profile.person_new, name="new"),
    path("duplicates/", merge.duplicates, name="duplicates"),
    path(
        "duplicates/<int:person_id>/<int:other_id>/dismiss/",
        merge.duplicate_dismiss,
        name="duplicate_dismiss",
    ),
    path("custom-fields/", custom_fields.custom_fields, name="custom_fields"),
    path(
        "custom-fields/<int:field_id>/", custom_fields.custom_field_edit, name="custom_field_edit"
    ),
    path(
        "custom-fields/<int:field_id>/delete/",
        custom_fields.custom_field_delete,
        name="custom_field_delete",
    ),
    path("<int:person_id>/edit/", profile.person_edit, name="edit"),
    path("<int:person_id>/emails/", profile.person_emails, name="emails"),
    path("<int:person_id>/phones/", profile.person_phones, name="phones"),
    path("<int:person_id>/tags/", profile.person_tags, name="tags"),
    path("<int:person_id>/notes/", profile.person_note, name="note"),
    path("<int:person_id>/contacts/", profile.person_contact, name="contact"),
    path("<int:person_id>/consent/", profile.person_consent, name="consent"),
    path("<int:person_id>/timeline/", profile.person_timeline, name="timeline"),
    path("<int:person_id>/merge/", merge.merge_pick, name="merge_pick"),
    path("<int:person_id>/merge/<int:other_id>/", merge.merge_preview, name="merge"),
    path("<int:person_id>/export/", privacy.person_export, name="export"),
    path("<int:person_id>/erase/", privacy.person_erase, name="erase"),
]
