"""/backend/security/: the optional TOTP second factor of company users (AU-5)."""

from django.urls import path

from companies import views_security as views

urlpatterns = [
    path("", views.security, name="security"),
    path("enable/", views.security_enable, name="security-enable"),
    path("confirm/", views.security_confirm, name="security-confirm"),
    path("disable/", views.security_disable, name="security-disable"),
]
