"""``/u/<token>/``: one-click unsubscribe from a shop's review invitations (R6, R41)."""

from django.urls import path

from invitations import views

app_name = "invitations"

urlpatterns = [
    path("<str:token>/", views.unsubscribe, name="unsubscribe"),
]
