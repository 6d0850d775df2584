"""`/api/v1/order-imports`: upload a CSV file, poll its progress, download its report
(R5, IN-2, IN-3, ID-3, TI-1)."""

from __future__ import annotations

import io
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from invitations import views_imports
from invitations.csv_import import order_import_run
from invitations.models import Invitation, Order, OrderImport
from tests import factories

pytestmark = pytest.mark.django_db

URL = "/api/v1/order-imports"
CSV = (
    "Bestellnummer;E-Mail;Bestelldatum;Telefon\r\n"
    "A-1;kim@example.net;01.03.2024;030\r\n"
    "A-2;not-an-email;01.03.2024;030\r\n"
    '"=1+1";x@example.net;;030\r\n'
)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def post_file(client, content: bytes | str = CSV, name: str = "orders.csv", **extra):
    if isinstance(content, str):
        content = content.encode()
    return client.post(
        URL, {"file": SimpleUploadedFile(name, content)}, format="multipart", **extra
    )


def uploaded_and_run(client) -> dict:
    """Upload ``CSV`` and run the import as the worker would; answers the 202 body."""
    body = post_file(client).json()
    job = OrderImport.objects.unscoped().get(public_id=body["id"])  # the worker's view of it
    order_import_run(import_id=job.pk)
    return body


def test_it_accepts_a_file_and_answers_202_with_a_url_to_poll(api_client, shop):
    """IN-3: the upload is stored and queued; nothing is imported inside the request."""
    response = post_file(api_client)
    assert response.status_code == 202, response.json()
    body = response.json()
    job = OrderImport.objects.for_company(shop.company).get()
    assert body["id"] == str(job.public_id)
    assert body["status"] == "queued"
    assert body["url"] == f"http://testserver{URL}/{job.public_id}"
    assert response["Location"] == body["url"]
    assert body["report_url"] is None
    assert (job.shop, job.original_name) == (shop, "orders.csv")
    assert not Order.objects.for_company(shop.company).exists()


def test_it_shows_progress_counts_and_the_first_rejected_lines(api_client, shop):
    """IN-3, ID-3: counts, per-line reasons with line numbers, and where the report is."""
    body = uploaded_and_run(api_client)
    response = api_client.get(body["url"])
    assert response.status_code == 200
    detail = response.json()
    assert detail["status"] == "done"
    assert (detail["rows_total"], detail["rows_processed"]) == (3, 3)
    assert (detail["orders_created"], detail["orders_known"], detail["rows_rejected"]) == (1, 0, 2)
    assert [(row["line"], row["order_id"]) for row in detail["report_sample"]] == [
        (1, ""),
        (3, "A-2"),
        (4, "=1+1"),
    ]
    assert detail["report_sample"][0]["reason"] == "Columns not recognized and ignored: 'Telefon'."
    assert detail["report_sample"][2]["reason"] == "Bestelldatum: the date is missing."
    assert detail["report_url"] == f"{body['url']}/report"
    assert detail["finished_at"] is not None and detail["error"] == ""


def test_it_downloads_the_full_report_as_a_csv_attachment(api_client, shop):
    """IN-5: text/csv attachment; formula cells neutralized, RFC 4180 line ends."""
    body = uploaded_and_run(api_client)
    response = api_client.get(f"{body['url']}/report")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="order-import-{body["id"]}-report.csv"'
    )
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert text.splitlines()[0] == "line,order_id,reason"
    assert "\r\n4,'=1+1,Bestelldatum: the date is missing.\r\n" in text
    assert text.count("\r\n") == 4


def test_it_answers_409_while_the_report_is_not_ready(api_client, shop):
    body = post_file(api_client).json()
    response = api_client.get(f"{body['url']}/report", HTTP_ACCEPT="text/csv")
    assert response.status_code == 409
    assert response.content.decode().splitlines() == [
        "detail,code",
        "The report is ready when the import has finished; poll the import first.,report_not_ready",
    ]


def test_it_shows_why_a_file_failed(api_client, shop):
    """IN-3: a missing required column fails the whole import with a clear message."""
    body = post_file(api_client, "order_id;mail\nA-1;kim@example.net\n").json()
    job = OrderImport.objects.for_company(shop.company).get()
    order_import_run(import_id=job.pk)
    detail = api_client.get(body["url"]).json()
    assert detail["status"] == "failed"
    assert detail["error"].startswith("The header (line 1) has no column for order_date.")
    assert detail["rows_processed"] == 0


def test_it_lists_the_shops_imports_newest_first(api_client, shop, other_api_client):
    first = post_file(api_client, name="first.csv").json()
    second = post_file(api_client, name="second.csv").json()
    post_file(other_api_client, name="other.csv")
    response = api_client.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert [row["id"] for row in body["results"]] == [second["id"], first["id"]]
    assert body["next"] is None


def test_it_lists_with_a_constant_number_of_queries(api_client, shop):
    """STYLE 10: key lookup, last-used stamp (at most once a minute), one page of imports."""
    post_file(api_client)
    api_client.get(URL)  # stamps the key's last use
    with CaptureQueriesContext(connection) as few:
        assert api_client.get(URL).status_code == 200
    for _ in range(5):
        post_file(api_client)
    with CaptureQueriesContext(connection) as many:
        assert len(api_client.get(URL).json()["results"]) == 6
    assert len(few.captured_queries) == len(many.captured_queries) == 2


def test_it_hides_another_companys_import_like_a_missing_one(api_client, other_api_client):
    """TI-1, R4: a foreign import id answers exactly like an unknown one; nothing changes."""
    foreign = uploaded_and_run(other_api_client)
    foreign_job = OrderImport.objects.unscoped().get(public_id=foreign["id"])
    other_orders = Order.objects.unscoped().filter(company=foreign_job.company_id)
    before = sorted(other_orders.values_list("order_id", "updated_at"))
    unknown = uuid.uuid4()
    for suffix in ("", "/report"):
        mine = api_client.get(f"{URL}/{foreign['id']}{suffix}")
        missing = api_client.get(f"{URL}/{unknown}{suffix}")
        assert (mine.status_code, mine.content) == (missing.status_code, missing.content)
        assert mine.status_code == 404
    assert api_client.get(URL).json()["results"] == []
    assert api_client.get(f"{URL}/not-a-uuid").status_code == 404
    assert sorted(other_orders.values_list("order_id", "updated_at")) == before
    assert (
        OrderImport.objects.unscoped().get(pk=foreign_job.pk).updated_at == foreign_job.updated_at
    )


def test_it_imports_into_the_authenticated_shop_only(api_client, shop, other_shop):
    """TI-2: the same order ids in another company are neither read nor changed."""
    other = factories.InvitationFactory(shop=other_shop, order__order_id="A-1")
    uploaded_and_run(api_client)
    mine = Invitation.objects.for_company(shop.company).get()
    assert (mine.order.order_id, mine.shop) == ("A-1", shop)
    assert Invitation.objects.for_company(other_shop.company).get() == other


def test_it_refuses_a_missing_or_empty_file(api_client, shop):
    missing = api_client.post(URL, {"other": "x"}, format="multipart")
    assert missing.status_code == 400
    assert "file" in missing.json()
    empty = post_file(api_client, b"")
    assert (empty.status_code, empty.json()["code"]) == (400, "file_empty")
    assert not OrderImport.objects.for_company(shop.company).exists()


def test_it_refuses_a_file_over_the_limit_before_reading_it(api_client, shop, monkeypatch):
    """IN-2: 413 with a JSON error, decided from Content-Length before parsing the body."""
    monkeypatch.setattr(views_imports, "MAX_FILE_BYTES", 1000)
    response = post_file(api_client, "x" * 200_000)
    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert not OrderImport.objects.for_company(shop.company).exists()


def test_it_takes_only_multipart_uploads(api_client):
    response = api_client.post(URL, {"file": "A-1"}, format="json")
    assert response.status_code == 415


def test_it_needs_an_api_key(client, api_client):
    assert client.get(URL).status_code == 401
    assert client.post(URL, {"file": io.BytesIO(CSV.encode())}).status_code == 401


def test_it_documents_the_endpoints_in_the_schema(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    assert {f"{URL}", f"{URL}/{{id}}", f"{URL}/{{id}}/report"} <= set(paths)
    upload = paths[URL]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert "202" in upload["responses"]
    assert "text/csv" in paths[f"{URL}/{{id}}/report"]["get"]["responses"]["200"]["content"]
    detail_id = paths[f"{URL}/{{id}}"]["get"]["parameters"][0]
    assert detail_id["schema"] == {"type": "string", "format": "uuid"}
