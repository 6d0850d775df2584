"""Exports of a company's data and of one evaluator's (R42, GD-3)."""

from __future__ import annotations

import csv
import datetime
import io
import json
import zipfile

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from companies.models import Role
from privacy import services
from privacy.models import DataExport
from privacy.tasks import build_export
from tests import factories
from tests.conftest import fresh_address

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_client():
    return Client(REMOTE_ADDR=fresh_address())


EMAIL = "eve-export@example.test"


@pytest.fixture(autouse=True)
def private_root(tmp_path, settings):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    return settings.PRIVATE_MEDIA_ROOT


@pytest.fixture
def eve(shop):
    invitation = factories.InvitationFactory(
        shop=shop, order__order_id="EVE-EXP-1", email=EMAIL, first_name="Eve", status="rated"
    )
    review = factories.ReviewFactory(
        shop=shop, invitation=invitation, comment='=HYPERLINK("x") Eve liked it', rating=4
    )
    factories.ReviewFactory(shop=shop, comment="Someone else entirely")
    return invitation, review


def _download(client, owner, django_capture_on_commit_callbacks, path, data=None):
    client.force_login(owner)
    response = client.post(path, data or {})
    assert response.status_code == 302
    export = DataExport.objects.unscoped().order_by("-id").first()
    build_export(export.pk)  # what the worker does with the task the request enqueued
    export.refresh_from_db()
    assert export.status == DataExport.Status.READY
    response = client.get(f"/backend/data/exports/{export.pk}/download/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store" or "no-store" in response["Cache-Control"]
    body = b"".join(response.streaming_content)
    return export, zipfile.ZipFile(io.BytesIO(body))


def test_it_exports_all_company_data_as_json_and_csv_once(
    client, owner, shop, eve, other_shop, django_capture_on_commit_callbacks
):
    """GD-3, R42: the owner's export holds every model as JSON plus reviews as RFC 4180 CSV with
    formula neutralisation; nothing of B; no secrets; downloadable once, then deleted."""
    factories.ReviewFactory(shop=other_shop, comment="BETA-B secret review")
    export, archive = _download(
        client, owner, django_capture_on_commit_callbacks, "/backend/data/exports/company/"
    )
    names = set(archive.namelist())
    assert {"reviews.csv", "media.json", "export.json", "reviews.Review.json"} <= names
    assert {"invitations.Invitation.json", "companies.Shop.json", "companies.User.json"} <= names
    everything = b"".join(archive.read(name) for name in names).decode()
    assert EMAIL in everything and "Someone else entirely" in everything
    assert "BETA-B" not in everything
    assert "token_hash" not in everything and "interface_password_hash" not in everything
    rows = list(csv.reader(io.StringIO(archive.read("reviews.csv").decode(), newline="")))
    assert rows[0][0] == "public_id" and len(rows) == 3
    comments = {row[4] for row in rows[1:]}
    assert '\'=HYPERLINK("x") Eve liked it' in comments
    assert archive.read("reviews.csv").count(b"\r\n") >= 3
    # Once only: the file is gone, a second download answers with the page again.
    export.refresh_from_db()
    assert export.status == DataExport.Status.DOWNLOADED
    assert not services.export_path(export).exists()
    again = client.get(f"/backend/data/exports/{export.pk}/download/")
    assert again.status_code == 302


def test_it_exports_everything_about_one_evaluator_and_nothing_else(
    client, owner, shop, eve, other_shop, django_capture_on_commit_callbacks
):
    """GD-3: all invitations and reviews for that address in A; nobody else's; nothing of B."""
    factories.InvitationFactory(shop=other_shop, email=EMAIL, order__order_id="EVE-EXP-1")
    export, archive = _download(
        client,
        owner,
        django_capture_on_commit_callbacks,
        "/backend/data/exports/evaluator/",
        {"export-email": EMAIL},
    )
    invitations = json.loads(archive.read("invitations.Invitation.json"))
    reviews = json.loads(archive.read("reviews.Review.json"))
    orders = json.loads(archive.read("invitations.Order.json"))
    assert [i["id"] for i in invitations] == [eve[0].pk]
    assert [r["id"] for r in reviews] == [eve[1].pk]
    assert [o["order_id"] for o in orders] == ["EVE-EXP-1"]
    everything = b"".join(archive.read(n) for n in archive.namelist()).decode()
    assert "Someone else entirely" not in everything
    export.refresh_from_db()
    # The subject of the request is not kept once the file is built (R42).
    assert (export.subject_email, export.subject_order_id) == ("", "")


def test_it_finds_nothing_for_an_unknown_evaluator(owner, shop, eve):
    """GD-3: an address with no data gives an empty export, never another company's data."""
    export = services.export_request(
        company=shop.company, user=owner, kind=DataExport.Kind.EVALUATOR, email="no@example.test"
    )
    build_export(export.pk)
    export.refresh_from_db()
    assert export.status == DataExport.Status.EMPTY and export.file_path == ""


def test_it_builds_once_when_the_task_runs_twice(owner, shop, eve):
    """STYLE: tasks are idempotent; a second run leaves the built export alone."""
    export = services.export_request(company=shop.company, user=owner, kind="company")
    build_export(export.pk)
    export.refresh_from_db()
    first = (export.file_path, export.ready_at)
    build_export(export.pk)
    export.refresh_from_db()
    assert (export.file_path, export.ready_at) == first


def test_it_hides_the_export_from_viewers_and_other_companies(
    client, other_client, owner, shop, company, other_owner
):
    """GD-3: a viewer gets 403, another company's owner 404, and the file stays."""
    export = services.export_request(company=company, user=owner, kind="company")
    build_export(export.pk)
    viewer = factories.MembershipFactory(company=company, role=Role.VIEWER).user
    client.force_login(viewer)
    assert client.get(f"/backend/data/exports/{export.pk}/download/").status_code == 403
    assert client.get("/backend/data/").status_code == 403
    other_client.force_login(other_owner)
    assert other_client.get(f"/backend/data/exports/{export.pk}/download/").status_code == 404
    export.refresh_from_db()
    assert export.status == DataExport.Status.READY and services.export_path(export).exists()


def test_it_deletes_unfetched_exports_after_seven_days(owner, shop):
    """GD-3: the link expires and the file is deleted after 7 days (daily retention job)."""
    export = services.export_request(company=shop.company, user=owner, kind="company")
    build_export(export.pk)
    export.refresh_from_db()
    path = services.export_path(export)
    assert services.exports_purge(now=timezone.now() + datetime.timedelta(days=6)) == 0
    assert path.exists()
    later = timezone.now() + datetime.timedelta(days=7, minutes=1)
    assert services.exports_purge(now=later) == 1
    assert services.exports_purge(now=later) == 0
    export.refresh_from_db()
    assert export.status == DataExport.Status.EXPIRED and not path.exists()
    assert services.export_take(export=export, user=owner) is None


def test_it_lists_exports_with_a_fixed_number_of_queries(client, owner, company, shop):
    """STYLE: the Data page costs the same queries for 2 and for 12 exports."""
    client.force_login(owner)
    client.get("/backend/data/")  # the first request of a session loads and saves more
    counts = []
    for total in (2, 12):
        while DataExport.objects.for_company(company).count() < total:
            services.export_request(company=company, user=owner, kind="company")
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/backend/data/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_it_keeps_exports_under_the_private_root(owner, shop, private_root):
    """GD-3: the file lies under PRIVATE_MEDIA_ROOT, never under MEDIA_ROOT."""
    export = services.export_request(company=shop.company, user=owner, kind="company")
    build_export(export.pk)
    export.refresh_from_db()
    path = services.export_path(export)
    assert path.is_relative_to(private_root) and path.exists()
    assert not str(path).startswith(str(settings.MEDIA_ROOT))


def test_it_lets_the_owner_erase_an_evaluator_from_the_data_page(client, owner, shop, eve):
    """R42, GD-1: company backend erasure by address, with confirmation and a success message;
    without the confirmation nothing changes."""
    from invitations.models import Invitation
    from reviews.models import Review

    client.force_login(owner)
    refused = client.post("/backend/data/erase/", {"erase-email": EMAIL, "erase-mode": "delete"})
    assert refused.status_code == 400
    assert Invitation.objects.unscoped().get(pk=eve[0].pk).email == EMAIL

    response = client.post(
        "/backend/data/erase/",
        {"erase-email": EMAIL, "erase-mode": "anonymise", "erase-confirm": "on"},
        follow=True,
    )
    assert response.status_code == 200
    assert "Erased: 1 invitations and 1 reviews." in response.content.decode()
    assert Invitation.objects.unscoped().get(pk=eve[0].pk).email == ""
    review = Review.objects.unscoped().get(pk=eve[1].pk)
    assert (review.status, review.comment) == ("published", "")
