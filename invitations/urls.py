"""Public pages of the invitations app, mounted at the root.

``/u/<token>/``: one-click unsubscribe (R6, R41); ``/c/<slug>/request-link/``: ask for a rating
link (R10), beside the certificate page.
"""

from django.urls import path

from invitations import views

app_name = "invitations"

urlpatterns = [
    path("u/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("c/<slug:slug>/request-link/", views.link_request, name="link-request"),
]
