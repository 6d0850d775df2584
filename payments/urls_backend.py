"""Included under /backend/billing/payment/ in the ``backend`` namespace."""

from django.urls import path

from payments import views_backend as views

urlpatterns = [
    path("", views.payment, name="payment"),
    path(
        "mandates/<int:mandate_id>/revoke/",
        views.mandate_revoke,
        name="payment-mandate-revoke",
    ),
]
