from django.urls import re_path

from compat import views

app_name = "compat"

urlpatterns = [
    # Every path under /v3/ answers like eKomi (NonFunction), never with a logged 404.
    re_path(r"^(?P<method_name>.*)$", views.dispatch, name="method"),
]
