"""/backend/invitations/: the shop's invitations, CSV imports and email templates (R5-R8).

Included into the ``backend`` namespace by ``companies/urls_backend.py``; names start with
``invitations`` so they stay unique there (TI-1 lists every backend URL by name).
"""

from django.urls import path

from invitations import views_backend as views

_TEMPLATE = "templates/<str:kind>/<str:locale>/"

urlpatterns = [
    path("", views.invitation_list, name="invitations"),
    path("<uuid:public_id>/", views.invitation_detail, name="invitations-detail"),
    path("imports/", views.import_list, name="invitations-imports"),
    path("imports/upload/", views.import_upload, name="invitations-import-upload"),
    path("imports/<uuid:public_id>/", views.import_detail, name="invitations-import"),
    path("imports/<uuid:public_id>/status/", views.import_status, name="invitations-import-status"),
    path("imports/<uuid:public_id>/report/", views.import_report, name="invitations-import-report"),
    path("templates/", views.template_list, name="invitations-templates"),
    path(_TEMPLATE, views.template_edit, name="invitations-template"),
    path(_TEMPLATE + "save/", views.template_save, name="invitations-template-save"),
    path(_TEMPLATE + "preview/", views.template_preview, name="invitations-template-preview"),
    path(_TEMPLATE + "reset/", views.template_reset, name="invitations-template-reset"),
    path(_TEMPLATE + "test/", views.template_test, name="invitations-template-test"),
]
