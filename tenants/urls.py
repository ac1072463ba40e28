from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from . import operator, views
from .forms import NationPasswordResetForm

app_name = "platform"

urlpatterns = [
    path("", views.home, name="home"),
    path("signup/", views.signup, name="signup"),
    path("signup/check/", views.slug_check, name="slug_check"),
    path("login/", views.platform_login, name="login"),
    path("logout/", views.platform_logout, name="logout"),
    path("nations/", views.my_nations, name="my_nations"),
    path("nations/<int:nation_id>/open/", views.open_nation, name="open_nation"),
    path(
        "password-reset/",
        auth_views.PasswordResetView.as_view(
            form_class=NationPasswordResetForm,
            template_name="auth/password_reset.html",
            email_template_name="auth/password_reset_email.txt",
            subject_template_name="auth/password_reset_subject.txt",
            extra_email_context={"reset_route": "platform:password_reset_confirm"},
            success_url=reverse_lazy("platform:password_reset_done"),
        ),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="auth/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="auth/password_reset_confirm.html",
            success_url=reverse_lazy("platform:login"),
        ),
        name="password_reset_confirm",
    ),
]

operator_patterns = (
    [
        path("", operator.nation_list, name="nation_list"),
        path("nations/<int:nation_id>/", operator.nation_detail, name="nation_detail"),
        path(
            "nations/<int:nation_id>/<slug:action>/", operator.nation_action, name="nation_action"
        ),
    ],
    "operator",
)
