"""What recipients' mail clients and providers reach on the nation's host: the open pixel, the
click redirect, the unsubscribe / preferences page (GET) and its RFC 8058 one-click POST."""

from django.urls import path

from . import views_public

app_name = "comms_public"

urlpatterns = [
    path("o/<str:token>.gif", views_public.opened, name="open"),
    path("c/<str:token>/<int:link>/", views_public.clicked, name="click"),
    path("u/<str:token>/", views_public.preferences, name="unsubscribe"),
]
