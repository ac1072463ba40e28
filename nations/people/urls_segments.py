"""URLs of the People area (segments, static lists, bulk actions); included by
nations/people/urls.py under /panel/people/."""

from django.urls import path

from .views import segments

urlpatterns = [
    path("segments/", segments.segment_list, name="segments"),
    path("segments/new/", segments.segment_edit, name="segment_new"),
    path("segments/builder/", segments.segment_builder, name="segment_builder"),
    path("segments/preview/", segments.segment_preview, name="segment_preview"),
    path("segments/<int:segment_id>/", segments.segment_edit, name="segment"),
    path("segments/<int:segment_id>/delete/", segments.segment_delete, name="segment_delete"),
    path("lists/", segments.list_index, name="lists"),
    path("lists/new/", segments.list_edit, name="list_new"),
    path("lists/<int:list_id>/", segments.list_detail, name="list_detail"),
    path("lists/<int:list_id>/edit/", segments.list_edit, name="list_edit"),
    path("lists/<int:list_id>/delete/", segments.list_delete, name="list_delete"),
    path("lists/<int:list_id>/remove/", segments.list_member_remove, name="list_member_remove"),
    path("<int:person_id>/lists/", segments.person_lists, name="person_lists"),
    path("bulk/", segments.bulk_action, name="bulk"),
]
