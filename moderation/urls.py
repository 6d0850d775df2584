"""Public moderation pages, mounted at ``/m/``.

The certificate page links to ``{% url "moderation:report-review" shop.slug review.public_id %}``.
"""

from django.urls import path

from moderation import views

app_name = "moderation"

urlpatterns = [
    path("report/<slug:slug>/<uuid:ref>/", views.report_review, name="report-review"),
    path("statement/<str:token>/", views.statement, name="statement"),
    path("dialogue/<str:token>/", views.dialogue_page, name="dialogue"),
    path("replace/<str:token>/", views.replace_review, name="replace"),
]
