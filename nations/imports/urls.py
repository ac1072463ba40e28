"""Imports of people (CSV, XLSX); mounted at /panel/people/imports/ (namespace panel:people)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.import_list, name="imports"),
    path("<int:import_id>/", views.import_detail, name="import_detail"),
    path("<int:import_id>/preview/", views.import_preview, name="import_preview"),
    path("<int:import_id>/status/", views.import_status, name="import_status"),
    path("<int:import_id>/resume/", views.import_resume, name="import_resume"),
    path("<int:import_id>/rejected.csv", views.import_rejections, name="import_rejections"),
]
