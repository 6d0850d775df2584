"""/backend/billing/: included by companies.urls_backend (namespace ``backend``)."""

from django.urls import path

from billing import views_backend as views

urlpatterns = [
    path("", views.billing, name="billing"),
    path("invoices/<int:invoice_id>/pdf/", views.invoice_download, name="billing-invoice-pdf"),
    path("terminate/", views.terminate, name="billing-terminate"),
    path("upgrade/", views.upgrade, name="billing-upgrade"),
]
