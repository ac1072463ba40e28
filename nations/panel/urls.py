from django.contrib.auth import views as auth_views
from django.urls import include, path, reverse_lazy

from nations.comms import views as comms_views
from nations.site import views_panel as site_panel
from tenants.forms import NationPasswordResetForm

from . import views

app_name = "panel"


class NationPasswordResetView(auth_views.PasswordResetView):
    form_class = NationPasswordResetForm
    template_name = "auth/password_reset.html"
    email_template_name = "auth/password_reset_email.txt"
    subject_template_name = "auth/password_reset_subject.txt"
    success_url = reverse_lazy("panel:password_reset_done")
    extra_email_context = {"reset_route": "panel:password_reset_confirm"}

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "nation": self.request.tenant}


urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("login/", views.panel_login, name="login"),
    path("logout/", views.panel_logout, name="logout"),
    path("welcome/", views.welcome, name="welcome"),
    path("password-reset/", NationPasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="auth/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="auth/password_reset_confirm.html",
            success_url=reverse_lazy("panel:login"),
        ),
        name="password_reset_confirm",
    ),
    path("people/", include("nations.people.urls")),
    path("jobs/", include("nations.jobs.urls")),
    path("website/", site_panel.pages, name="website"),
    path("website/", include("nations.site.urls_panel")),
    path("donations/", include("nations.donations.urls_panel")),
    path("communication/", comms_views.blasts, name="communication"),
    path("communication/social/", include("nations.social.urls")),
    path("communication/", include("nations.comms.urls")),
    path("automations/", include("nations.automations.urls")),
    path("settings/", views.settings_general, name="settings"),
    path("settings/domains/", views.domains, name="domains"),
    path(
        "settings/domains/<int:domain_id>/<slug:action>/", views.domain_action, name="domain_action"
    ),
    path("settings/staff/", views.staff, name="staff"),
    path("settings/billing/", include("billing.urls")),
    path("settings/staff/<int:membership_id>/remove/", views.staff_remove, name="staff_remove"),
]
