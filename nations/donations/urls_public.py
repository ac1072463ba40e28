"""The donor's URLs on a nation's host (before the site's catch-all page patterns)."""

from django.urls import path

from . import views_public as views

urlpatterns = [
    path("<slug:slug>/donate/", views.donate, name="donate"),
    path("<slug:slug>/donate/thanks/<uuid:key>/", views.thanks, name="donate_thanks"),
    path("donations/manage/<str:manage_token>/", views.manage, name="donate_manage"),
    path(
        "donations/tax-receipt/<str:receipt_token>/", views.tax_receipt, name="donate_tax_receipt"
    ),
]
