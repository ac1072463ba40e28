"""The Communication area of the panel: /panel/communication/ (namespace panel:comms)."""

from django.urls import path

from . import views, views_phone

app_name = "comms"

urlpatterns = [
    path("new/", views.blast_new, name="new"),
    path("count/", views.audience_count, name="count"),
    path("senders/", views.broadcasters, name="broadcasters"),
    path("senders/<int:broadcaster_id>/", views.broadcaster_edit, name="broadcaster"),
    path("senders/<int:broadcaster_id>/check/", views.broadcaster_check, name="check"),
    path("sending/", views.sending_backend, name="sending"),
    # SMS and voice (views_phone.py); send/pause/cancel use the `action` view below
    path("texts/measure/", views_phone.phone_measure, name="phone_measure"),
    path("texts/<slug:channel>/", views_phone.phone_blasts, name="phone_list"),
    path("texts/<slug:channel>/new/", views_phone.phone_new, name="phone_new"),
    path("texts/blast/<int:blast_id>/", views_phone.phone_edit, name="phone_edit"),
    path("texts/blast/<int:blast_id>/audio/", views_phone.phone_audio, name="phone_audio"),
    path("texts/blast/<int:blast_id>/report/", views_phone.phone_detail, name="phone_detail"),
    path("inbox/", views_phone.inbox, name="inbox"),
    path("sms-settings/", views_phone.sms_settings, name="sms_settings"),
    path("<int:blast_id>/", views.blast_detail, name="detail"),
    path("<int:blast_id>/edit/", views.blast_edit, name="edit"),
    path("<int:blast_id>/preview/", views.blast_preview, name="preview"),
    path("<int:blast_id>/progress/", views.blast_progress, name="progress"),
    path("<int:blast_id>/<slug:action>/", views.blast_action, name="action"),
]
