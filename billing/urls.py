"""Settings → Billing, mounted at /panel/settings/billing/ (namespace panel:billing)."""

from django.urls import path

from . import views

app_name = "billing"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("checkout/", views.checkout, name="checkout"),
    path("return/", views.checkout_done, name="return"),
    path("change/", views.change, name="change"),
    path("portal/", views.portal, name="portal"),
]
