"""The platform's URLs plus the bare baseline view, for the benchmark only."""

from django.http import HttpResponse
from django.urls import path

from ekomi.urls import urlpatterns as platform_urlpatterns


def ok(request):
    """The origin baseline: a bare Django view returning "ok" (issue 12)."""
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("_bench/ok", ok, name="bench-ok"), *platform_urlpatterns]
