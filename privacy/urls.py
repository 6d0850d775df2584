"""Public privacy pages: the evaluator's own erasure (R42, GD-1)."""

from django.urls import path

from privacy import views

app_name = "privacy"

urlpatterns = [
    path("erase/<str:token>/", views.erase, name="erase"),
]
