"""/backend/: the customer backend (DESIGN.md §5)."""

from django.urls import include, path

from companies import views_backend as views

app_name = "backend"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("switch-company/", views.switch_company, name="switch-company"),
    path("switch-shop/", views.switch_shop, name="switch-shop"),
    path("team/", views.team, name="team"),
    path("team/invite/", views.team_invite_view, name="team-invite"),
    path("team/<int:membership_id>/role/", views.team_role, name="team-role"),
    path("team/<int:membership_id>/remove/", views.team_remove, name="team-remove"),
    path("integration/", views.integration, name="integration"),
    path(
        "integration/shops/<int:shop_id>/keys/",
        views.integration_key_create,
        name="integration-key-create",
    ),
    path(
        "integration/keys/<int:api_key_id>/revoke/",
        views.integration_key_revoke,
        name="integration-key-revoke",
    ),
    path(
        "integration/shops/<int:shop_id>/rotate-password/",
        views.integration_password_rotate,
        name="integration-password-rotate",
    ),
    path("settings/", include("companies.urls_settings")),
    path("invitations/", include("invitations.urls_backend")),
    path("reviews/", include("reviews.urls_backend")),
    path("tips/", include("guidance.urls_backend")),
    path("security/", include("companies.urls_security")),
    path("data/", include("privacy.urls_backend")),
    path("billing/payment/", include("payments.urls_backend")),
    path("billing/", include("billing.urls_backend")),
    path("contract/", include("terms.urls_backend")),
]
