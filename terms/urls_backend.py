"""/backend/contract/: offers, terms, maintenance notices and sanctions (R44-R47)."""

from django.urls import path

from terms import views_backend as views

urlpatterns = [
    path("", views.contract, name="contract"),
    path("offers/<int:offer_id>/", views.offer_detail, name="contract-offer"),
    path("offers/<int:offer_id>/accept/", views.offer_accept_view, name="contract-offer-accept"),
    path("terms/<int:version_id>/", views.terms_detail, name="contract-terms"),
    path("terms/<int:version_id>/object/", views.terms_object_view, name="contract-terms-object"),
]
