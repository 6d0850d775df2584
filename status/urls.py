"""/status/: the public status page (R46)."""

from django.urls import path

from status import views

app_name = "status"

urlpatterns = [path("", views.page, name="page")]
