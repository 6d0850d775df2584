from django.urls import path

from seals import views

app_name = "seals"

urlpatterns = [
    path("<slug:slug>/", views.certificate, name="certificate"),
]
