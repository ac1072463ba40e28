"""URLs of the People area (exports); included by nations/people/urls.py."""

from django.urls import path

from .views import exports

urlpatterns = [
    path("exports/", exports.export_new, name="exports"),
    path("exports/<int:job_id>/download/", exports.export_download, name="export_download"),
]
