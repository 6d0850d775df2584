"""/backend/tips/: general tips on the dashboard (R48)."""

from django.urls import path

from guidance import views

urlpatterns = [
    path("<int:shop_id>/<slug:tip>/dismiss/", views.tip_dismiss_view, name="tip-dismiss"),
]
