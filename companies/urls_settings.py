"""/backend/settings/: included into the backend's URLs, so names are ``backend:settings...``."""

from django.urls import path

from companies import views_settings as views

urlpatterns = [
    path("", views.settings_page, name="settings"),
    path("shop/", views.settings_shop, name="settings-shop"),
    path("notifications/", views.settings_notifications, name="settings-notifications"),
    path("newsletter/", views.settings_newsletter, name="settings-newsletter"),
    path("requests/pause/", views.settings_request_pause, name="settings-request-pause"),
    path(
        "requests/selection-group/",
        views.settings_request_selection_group,
        name="settings-request-selection-group",
    ),
    path(
        "requests/<int:request_id>/withdraw/",
        views.settings_request_withdraw_view,
        name="settings-request-withdraw",
    ),
]
