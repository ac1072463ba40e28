"""What recipients' mail clients and providers reach on the nation's host: the open pixel, the
click redirect, the unsubscribe / preferences page (GET) and its RFC 8058 one-click POST."""

from django.urls import path

from . import views_public, views_twilio

app_name = "comms_public"

urlpatterns = [
    path("o/<str:token>.gif", views_public.opened, name="open"),
    path("c/<str:token>/<int:link>/", views_public.clicked, name="click"),
    path("u/<str:token>/", views_public.preferences, name="unsubscribe"),
    # Twilio's callbacks (signed; the host names the nation)
    path("twilio/sms/", views_twilio.sms_inbound, name="twilio_inbound"),
    path("twilio/sms/status/", views_twilio.sms_status, name="twilio_sms_status"),
    path("twilio/voice/status/", views_twilio.call_status, name="twilio_call_status"),
    path("twilio/voice/<str:call_token>/", views_twilio.call_answered, name="twilio_call"),
    path("twilio/voice/<str:call_token>/keys/", views_twilio.call_keys, name="twilio_call_keys"),
    path("twilio/voice/<str:call_token>/audio/", views_twilio.call_audio, name="twilio_call_audio"),
]
