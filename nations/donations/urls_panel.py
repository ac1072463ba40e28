"""/panel/donations/… (names in the `panel` namespace: panel:donations, panel:donations_*)."""

from django.urls import path

from . import views_panel as views

urlpatterns = [
    path("", views.overview, name="donations"),
    path("connect/", views.connect, name="donations_connect"),
    path("connect/return/", views.connect_return, name="donations_connect_return"),
    path("settings/", views.settings_view, name="donations_settings"),
    path("export.csv", views.export_csv, name="donations_export"),
    path("tax-receipts/", views.tax_receipts, name="donations_tax_receipts"),
    path(
        "tax-receipts/<int:receipt_id>.pdf", views.tax_receipt_pdf, name="donations_tax_receipt_pdf"
    ),
    path("<int:donation_id>/", views.detail, name="donations_detail"),
    path("<int:donation_id>/refund/", views.refund, name="donations_refund"),
    path(
        "recurring/<int:recurring_id>/cancel/",
        views.recurring_cancel,
        name="donations_recurring_cancel",
    ),
]
