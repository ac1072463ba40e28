"""Social posts in the panel: /panel/communication/social/ (namespace panel:social)."""

from django.urls import path

from . import views

app_name = "social"

urlpatterns = [
    path("", views.posts, name="posts"),
    path("new/", views.post_new, name="new"),
    path("accounts/", views.accounts, name="accounts"),
    path("accounts/connect/x/", views.connect_x, name="connect_x"),
    path("accounts/connect/x/start/", views.connect_x_start, name="connect_x_start"),
    path("accounts/connect/x/callback/", views.connect_x_callback, name="connect_x_callback"),
    path("accounts/connect/mastodon/", views.connect_mastodon, name="connect_mastodon"),
    path(
        "accounts/<int:social_account_id>/autopost/",
        views.account_autopost,
        name="account_autopost",
    ),
    path(
        "accounts/<int:social_account_id>/disconnect/", views.account_disconnect, name="disconnect"
    ),
    path("automatic/", views.autopost, name="autopost"),
    path("<int:social_post_id>/", views.post_detail, name="post"),
    path("<int:social_post_id>/cancel/", views.post_cancel, name="cancel"),
]
