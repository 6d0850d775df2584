"""/accounts/: sign-up, confirmation, login, logout and password reset (DESIGN.md §5)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from companies import views_accounts as views
from companies.views_accounts import localized

app_name = "accounts"

urlpatterns = [
    path("signup/", localized(views.signup), name="signup"),
    path("signup/done/", localized(views.signup_done), name="signup-done"),
    path("confirm/<str:token>/", localized(views.confirm), name="confirm"),
    path("join/<str:token>/", localized(views.join), name="join"),
    path("login/", localized(views.LoginView.as_view()), name="login"),
    path("login/code/", localized(views.login_code), name="login-code"),
    path("logout/", localized(views.LogoutView.as_view()), name="logout"),
    path("password-reset/", localized(views.PasswordResetView.as_view()), name="password-reset"),
    path(
        "password-reset/done/",
        localized(
            auth_views.PasswordResetDoneView.as_view(
                template_name="accounts/password_reset_done.html"
            )
        ),
        name="password-reset-done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        localized(views.PasswordResetConfirmView.as_view()),
        name="password-reset-confirm",
    ),
    path(
        "reset/done/",
        localized(
            auth_views.PasswordResetCompleteView.as_view(
                template_name="accounts/password_reset_complete.html"
            )
        ),
        name="password-reset-complete",
    ),
]
