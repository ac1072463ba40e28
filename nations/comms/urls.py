"""The Communication area of the panel: /panel/communication/ (namespace panel:comms)."""

from django.urls import path

from . import views

app_name = "comms"

urlpatterns = [
    path("new/", views.blast_new, name="new"),
    path("count/", views.audience_count, name="count"),
    path("senders/", views.broadcasters, name="broadcasters"),
    path("senders/<int:broadcaster_id>/", views.broadcaster_edit, name="broadcaster"),
    path("senders/<int:broadcaster_id>/check/", views.broadcaster_check, name="check"),
    path("sending/", views.sending_backend, name="sending"),
    path("<int:blast_id>/", views.blast_detail, name="detail"),
    path("<int:blast_id>/edit/", views.blast_edit, name="edit"),
    path("<int:blast_id>/preview/", views.blast_preview, name="preview"),
    path("<int:blast_id>/progress/", views.blast_progress, name="progress"),
    path("<int:blast_id>/<slug:action>/", views.blast_action, name="action"),
]
