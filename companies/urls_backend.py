"""/backend/: the customer backend (DESIGN.md §5)."""

from django.urls import path

from companies import views_backend as views

app_name = "backend"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("switch-company/", views.switch_company, name="switch-company"),
    path("team/", views.team, name="team"),
    path("team/invite/", views.team_invite_view, name="team-invite"),
    path("team/<int:membership_id>/role/", views.team_role, name="team-role"),
    path("team/<int:membership_id>/remove/", views.team_remove, name="team-remove"),
]
