"""/backend/data/: exports, evaluator erasure and retention settings (R11, R42, GD-1, GD-3)."""

from django.urls import path

from privacy import views_backend as views

urlpatterns = [
    path("", views.data, name="data"),
    path("exports/company/", views.export_company, name="data-export-company"),
    path("exports/evaluator/", views.export_evaluator, name="data-export-evaluator"),
    path("exports/<int:export_id>/download/", views.export_download, name="data-export-download"),
    path("erase/", views.evaluator_erase_view, name="data-erase"),
    path("retention/", views.retention, name="data-retention"),
]
