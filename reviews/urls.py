from django.urls import path, re_path

from reviews import views

app_name = "reviews"

urlpatterns = [
    path("", views.rate, name="rate"),
    path("thanks/", views.thanks, name="thanks"),
    path("delete/", views.delete, name="delete"),
    path("write/<slug:slug>/", views.visitor_write, name="visitor-write"),
    path("confirm/<str:token>/", views.visitor_confirm, name="visitor-confirm"),
    # Any segment: well-formed and malformed tokens get the same neutral answer (AB-2).
    re_path(r"^(?P<token>[^/]{1,200})/$", views.open_link, name="open"),
]
