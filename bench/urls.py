"""The platform's URLs plus the bare baseline views, for the benchmark only."""

from django.db import connection
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ekomi.urls import urlpatterns as platform_urlpatterns


def ok(request):
    """The origin baseline: a bare Django view returning "ok" (issue 12)."""
    return HttpResponse("ok", content_type="text/plain")


def one_row(request, slug):
    """The origin's reference: the "ok" view plus one indexed read, a shop's name by its slug.

    The floor of any page that reads the database, measured beside the public surfaces
    (bench/figures.py) to read their ratios by."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM companies_shop WHERE slug = %s", [slug])
        row = cursor.fetchone()
    if row is None:
        raise Http404("No such shop.")
    return HttpResponse(row[0], content_type="text/plain")


@csrf_exempt  # the bare baseline of a form POST: no session, no form, no CSRF check
@require_POST
def insert(request):
    """The rating baseline: one INSERT of the posted stars and text (bench/rating.py)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_submission (rating, comment, created_at) VALUES (%s, %s, now())",
            [
                int(request.POST.get("merchant_rating") or 0),
                request.POST.get("merchant_comment", ""),
            ],
        )
    response = HttpResponseRedirect("/_bench/ok")
    response.status_code = 303
    return response


urlpatterns = [
    path("_bench/ok", ok, name="bench-ok"),
    path("_bench/insert", insert, name="bench-insert"),
    path("_bench/one-row/<slug:slug>", one_row, name="bench-one-row"),
    *platform_urlpatterns,
]
