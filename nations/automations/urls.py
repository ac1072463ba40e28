"""The Automations area of the panel: /panel/automations/ (namespace panel:automations)."""

from django.urls import path

from . import views

app_name = "automations"

urlpatterns = [
    path("", views.automation_list, name="list"),
    path("new/", views.automation_new, name="new"),
    path("person/<int:person_id>/", views.person_automations, name="person"),
    path("<int:automation_id>/", views.automation_detail, name="detail"),
    path("<int:automation_id>/edit/", views.automation_edit, name="edit"),
    path("<int:automation_id>/steps/", views.step_add, name="step_add"),
    path("<int:automation_id>/steps/<int:step_id>/", views.step_edit, name="step_edit"),
    path(
        "<int:automation_id>/steps/<int:step_id>/<slug:action>/",
        views.step_action,
        name="step_action",
    ),
    path("<int:automation_id>/<slug:action>/", views.automation_action, name="action"),
]
