"""The Website area of the control panel, under /panel/website/ (namespace panel:website)."""

from django.urls import path

from . import views_panel as views

app_name = "website"

urlpatterns = [
    path("pages/new/", views.page_new, name="new"),
    path("pages/<int:page_id>/", views.page_edit, name="edit"),
    path("pages/<int:page_id>/preview/", views.page_preview, name="preview"),
    path("pages/<int:page_id>/responses/", views.page_submissions, name="submissions"),
    path("pages/<int:page_id>/responses/retry/", views.intake_retry, name="intake_retry"),
    path("pages/<int:page_id>/questions/", views.survey_question_add, name="question_add"),
    path(
        "pages/<int:page_id>/questions/<int:question_id>/",
        views.survey_question,
        name="question",
    ),
    path("pages/<int:page_id>/<slug:action>/", views.page_action, name="action"),
    path("media/", views.media, name="media"),
    path("media/editor/", views.media_editor, name="media_editor"),
    path("menu/", views.menu, name="menu"),
    path("theme/", views.theme, name="theme"),
    path("theme/files/<str:name>/", views.theme_file, name="theme_file"),
    path("settings/", views.site_settings_view, name="settings"),
]
