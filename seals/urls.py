"""Public paths of a shop; a contract with other software (DESIGN.md §5)."""

from django.urls import path

from seals import views

app_name = "seals"

urlpatterns = [
    path("<slug:slug>/", views.certificate, name="certificate"),
    path("<slug:slug>/widget.js", views.widget_js, name="widget-js"),
    path("<slug:slug>/widget/", views.widget_frame, name="widget-frame"),
    path("<slug:slug>/seal.svg", views.seal_svg, name="seal-svg"),
    path(
        "<slug:slug>/feeds/product-ratings.xml",
        views.product_ratings_feed,
        name="product-ratings-feed",
    ),
]
