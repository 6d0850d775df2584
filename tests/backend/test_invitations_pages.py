"""The backend's invitation pages: the list with filters and pages, CSV upload with a polled
progress bar and a per-line report, and the email templates with a live preview
(R2, R5-R8, TI-1, IN-3, ID-3)."""

from __future__ import annotations

import datetime
import html
import re

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from companies.models import Role
from ekomi.celery import app as celery_app
from invitations import emails
from invitations.csv_import import order_import_run
from invitations.csv_import import services as csv_services
from invitations.models import EmailTemplate, Invitation, InvitationEmail, Order, OrderImport
from invitations.views_backend import TEST_EMAILS_PER_HOUR
from tests import factories
from tests.live.sink import send_to

pytestmark = pytest.mark.django_db

LIST = "/backend/invitations/"
IMPORTS = "/backend/invitations/imports/"
UPLOAD = "/backend/invitations/imports/upload/"
TEMPLATE = "/backend/invitations/templates/invitation/en/"
CSV = (
    "Bestellnummer;E-Mail;Vorname;Bestelldatum\r\n"
    "A-1;kim@example.net;Kim;01.03.2024\r\n"
    "A-2;not-an-email;Lu;01.03.2024\r\n"
    "A-3;lu@example.net;Lu;31.02.2024\r\n"
    "A-4;max@example.net;Max;2024-03-02\r\n"
)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _login(client, company, role=Role.MANAGER):
    user = factories.MembershipFactory(company=company, role=role).user
    client.force_login(user)
    return user


def _invitation(shop, **fields):
    return factories.InvitationFactory(shop=shop, **fields)


def _order_ids(page: str) -> list[str]:
    return re.findall(r'<a href="/backend/invitations/[0-9a-f-]{36}/">([^<]+)</a>', page)


# --- The list ----------------------------------------------------------------------------------


def test_it_lists_the_shops_invitations_with_their_dates_and_masked_addresses(
    client, company, shop, other_shop
):
    """R5-R7: the chosen shop's invitations, newest first, with status and dates; the list shows
    the customer's address masked, never another shop's or company's invitation."""
    _login(client, company, Role.VIEWER)
    old = _invitation(
        shop,
        order__order_id="OLD-1",
        email="kim@example.net",
        created_at=timezone.now() - datetime.timedelta(days=3),
        status=Invitation.Status.SENT,
        sent_at=timezone.now() - datetime.timedelta(days=2),
    )
    InvitationEmail.objects.unscoped().create(
        company=company,
        shop=shop,
        invitation=old,
        kind="reminder_1",
        status="sent",
        sent_at=timezone.make_aware(datetime.datetime(2026, 1, 5, 10)),
        message_id="<r1@example>",
    )
    _invitation(shop, order__order_id="NEW-2", email="lu@example.net")
    same_company_other_shop = factories.ShopFactory(company=company, name="ZZZ second shop")
    _invitation(same_company_other_shop, order__order_id="SECOND-SHOP")
    _invitation(other_shop, order__order_id="BETA-B-ORDER")

    response = client.get(LIST)

    assert response.status_code == 200
    page = response.content.decode()
    assert _order_ids(page) == ["NEW-2", "OLD-1"]
    assert "k•••@example.net" in page and "kim@example.net" not in page
    assert "05.01.2026" in page or "01/05/2026" in page  # the reminder's date
    assert "SECOND-SHOP" not in page and "BETA-B-ORDER" not in page


def test_it_filters_by_status_date_and_order_id(client, company, shop):
    """R5: filters narrow the list; an invalid filter value is ignored, not an error."""
    _login(client, company)
    now = timezone.now()
    _invitation(shop, order__order_id="X-100", status=Invitation.Status.RATED, used_at=now)
    _invitation(shop, order__order_id="X-200", created_at=now - datetime.timedelta(days=40))
    _invitation(shop, order__order_id="Y-300")

    def listed(query: str) -> list[str]:
        response = client.get(LIST + query)
        assert response.status_code == 200
        return sorted(_order_ids(response.content.decode()))

    assert listed("?status=rated") == ["X-100"]
    assert listed("?order_id=x-") == ["X-100", "X-200"]
    # The filter reads days in the platform's time zone; 40 days back may be across a DST change.
    old_day = timezone.localdate(now - datetime.timedelta(days=40)).isoformat()
    assert listed(f"?created_from={old_day}&created_to={old_day}") == ["X-200"]
    assert listed("?created_from=not-a-date&status=nonsense") == ["X-100", "X-200", "Y-300"]


def test_it_pages_through_50_at_a_time_and_keeps_the_filters(client, company, shop):
    """R5: pagination, with the filters carried into the page links."""
    _login(client, company)
    for number in range(52):
        _invitation(shop, order__order_id=f"P-{number:03}")

    first = client.get(LIST + "?order_id=P-").content.decode()
    second = client.get(LIST + "?order_id=P-&page=2").content.decode()

    assert len(_order_ids(first)) == 50 and len(_order_ids(second)) == 2
    assert "52 invitations" in first
    assert 'href="?order_id=P-&amp;page=2"' in first
    assert set(_order_ids(first)).isdisjoint(_order_ids(second))


def _list_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(LIST).status_code == 200
    return len(queries)


def test_it_lists_with_the_same_number_of_queries_at_any_size(client, company, shop):
    """STYLE 10: the same queries for 2 and 42 invitations: session, user, company, membership,
    shops, the count, one page (order and last reminder joined in), the company switcher."""
    _login(client, company)
    for _ in range(2):
        invitation = _invitation(shop)
    client.get(LIST)  # the first request after login also rotates the session
    few = _list_queries(client)
    for number in range(40):
        invitation = _invitation(shop, sent_at=timezone.now())
        InvitationEmail.objects.unscoped().create(
            company=company,
            shop=shop,
            invitation=invitation,
            kind="reminder_1",
            message_id=f"<m{number}@x>",
        )
    many = _list_queries(client)
    assert few == many <= 10


def test_it_shows_the_address_on_the_detail_page_to_managers_and_masks_it_for_viewers(
    client, other_client, company, shop
):
    """R2: the customers are the company's own; managers see the address for support, viewers
    only its masked form."""
    invitation = _invitation(shop, email="kim@example.net", order__order_id="D-1")
    url = f"{LIST}{invitation.public_id}/"
    _login(client, company, Role.MANAGER)
    _login(other_client, company, Role.VIEWER)

    manager_page = client.get(url).content.decode()
    viewer_page = other_client.get(url).content.decode()

    assert "D-1" in manager_page and "kim@example.net" in manager_page
    assert "D-1" in viewer_page and "kim@example.net" not in viewer_page
    assert "k•••@example.net" in viewer_page


def test_it_answers_404_for_another_companys_invitation(client, other_company, shop):
    """R4, TI-1: another company's invitation is not found."""
    invitation = _invitation(shop)
    _login(client, other_company, Role.OWNER)
    assert client.get(f"{LIST}{invitation.public_id}/").status_code == 404


# --- CSV upload --------------------------------------------------------------------------------


def _upload(client, content: bytes | str = CSV, name: str = "orders.csv"):
    if isinstance(content, str):
        content = content.encode()
    return client.post(UPLOAD, {"file": SimpleUploadedFile(name, content)})


def _status_url(job: OrderImport) -> str:
    return f"{IMPORTS}{job.public_id}/status/"


def test_it_uploads_a_csv_polls_the_progress_and_shows_the_report(client, company, shop):
    """R5, IN-3: upload, a progress fragment polled every second until done (then 286 stops
    htmx polling), the per-line report, and the new invitations in the list."""
    _login(client, company, Role.MANAGER)

    response = _upload(client)

    job = OrderImport.objects.for_company(company).get()
    assert response.status_code == 302
    assert response["Location"] == f"{IMPORTS}{job.public_id}/"
    page = client.get(response["Location"]).content.decode()
    assert "orders.csv was uploaded" in page
    assert f'hx-get="{_status_url(job)}"' in page and 'hx-trigger="every 1s"' in page
    queued = client.get(_status_url(job))
    assert queued.status_code == 200 and 'hx-trigger="every 1s"' in queued.content.decode()
    assert 'value="0"' in queued.content.decode()

    order_import_run(import_id=job.pk)  # what the worker does
    done = client.get(_status_url(job))

    fragment = done.content.decode()
    assert done.status_code == 286
    assert "hx-get" not in fragment and 'value="100"' in fragment and "100 %" in fragment
    assert 'data-status="done"' in fragment
    report = re.findall(
        r"<tr><td[^>]*>(\d+)</td><td[^>]*>([^<]*)</td><td[^>]*>([^<]*)</td>", fragment
    )
    assert [(line, order) for line, order, _ in report] == [("3", "A-2"), ("4", "A-3")]
    assert "E-Mail: Enter a valid email address" in report[0][2]
    assert "Bestelldatum" in report[1][2]
    listed = client.get(LIST).content.decode()
    assert sorted(_order_ids(listed)) == ["A-1", "A-4"]
    imports_page = client.get(IMPORTS).content.decode()
    assert "orders.csv" in imports_page and 'data-label="Status">done</td>' in imports_page


def test_it_runs_the_import_when_the_upload_is_committed(
    client, company, shop, django_capture_on_commit_callbacks
):
    """R5: the upload queues the Celery job on commit; run eagerly here, the page is done."""
    _login(client, company, Role.OWNER)
    celery_app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = _upload(client)
    finally:
        celery_app.conf.task_always_eager = False

    job = OrderImport.objects.for_company(company).get()
    assert job.status == OrderImport.Status.DONE
    assert (job.orders_created, job.rows_rejected) == (2, 2)
    page = client.get(response["Location"]).content.decode()
    assert 'data-status="done"' in page and "hx-get" not in page
    report = client.get(f"{IMPORTS}{job.public_id}/report/")
    assert report.status_code == 200
    assert b"A-2" in b"".join(report.streaming_content)


def _too_large(monkeypatch):
    monkeypatch.setattr(csv_services, "MAX_FILE_BYTES", 50)
    return CSV


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        ("Name;Telefon\r\nKim;030\r\n", "has no column for order_id, email, order_date"),
        (b"\xff\xfeB\x00\xd8", "starts like UTF-16 text but is not"),
        ("order_id,email,order_date\r\n".encode("utf-16-le"), "contains NUL bytes"),
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00", "contains NUL bytes"),
        (_too_large, "at most 0 MB can be imported"),
    ],
    ids=["empty", "missing-columns", "broken-utf16", "utf16-without-bom", "xlsx", "too-large"],
)
def test_it_refuses_a_bad_file_next_to_the_field_and_stores_nothing(
    client, company, shop, media_root, monkeypatch, content, message
):
    """IN-2, IN-3: a file that cannot be imported as a whole is refused with a clear message
    next to the field; no import, no order and no file is stored."""
    if callable(content):
        content = content(monkeypatch)
    _login(client, company, Role.MANAGER)

    response = _upload(client, content)

    assert response.status_code == 400
    page = response.content.decode()
    error = re.search(r'<span class="error" id="id_file-error">([^<]*)</span>', page)
    assert error and message in error.group(1).replace("&#x27;", "'")
    assert 'aria-invalid="true"' in page
    assert not OrderImport.objects.for_company(company).exists()
    assert not Order.objects.for_company(company).exists()
    assert [path for path in media_root.rglob("*") if path.is_file()] == []


def test_it_lets_managers_upload_and_viewers_only_look(client, other_client, company, shop):
    """R2: viewers see past imports but cannot upload."""
    _login(client, company, Role.VIEWER)
    page = client.get(IMPORTS).content.decode()
    assert UPLOAD not in page
    assert _upload(client).status_code == 403
    assert not OrderImport.objects.for_company(company).exists()
    _login(other_client, company, Role.MANAGER)
    assert UPLOAD in other_client.get(IMPORTS).content.decode()


def test_it_stops_polling_and_explains_a_failed_import(client, company, shop):
    """IN-3: an import that stopped says why; polling stops and the bar does not claim 100 %."""
    job = OrderImport.objects.unscoped().create(
        company=company,
        shop=shop,
        original_name="a.csv",
        status=OrderImport.Status.FAILED,
        rows_total=10,
        rows_processed=4,
        error="The import was stopped by an unexpected error. Lines up to 5 were imported.",
    )
    _login(client, company, Role.VIEWER)

    response = client.get(_status_url(job))

    fragment = response.content.decode()
    assert response.status_code == 286 and "hx-get" not in fragment
    assert 'value="40"' in fragment and "Lines up to 5 were imported" in fragment


def test_it_answers_404_for_another_companys_import_and_its_status(
    client, company, shop, other_company
):
    """TI-1: another company's import, its status fragment and its report are not found."""
    job = OrderImport.objects.unscoped().create(company=company, shop=shop, original_name="a.csv")
    _login(client, other_company, Role.OWNER)
    for suffix in ("", "status/", "report/"):
        assert client.get(f"{IMPORTS}{job.public_id}/{suffix}").status_code == 404


# --- Email templates ---------------------------------------------------------------------------


def test_it_lists_every_kind_in_every_language(client, company, shop):
    """R7: invitation and reminder, each in English and German, own text or platform's."""
    _login(client, company, Role.VIEWER)
    emails.email_template_save(
        shop=shop, kind="reminder", locale="de", subject="Erinnerung", body="Bitte bewerten."
    )
    page = client.get("/backend/invitations/templates/").content.decode()
    for kind in ("invitation", "reminder"):
        for locale in ("en", "de"):
            assert f'href="/backend/invitations/templates/{kind}/{locale}/"' in page
    assert page.count(">your own<") == 1 and page.count(">platform default<") == 3
    assert "Erinnerung" in page


def test_it_previews_a_draft_with_sample_data_through_the_sandbox(client, company, shop):
    """R7: the draft is rendered with sample data; the shop's name is escaped."""
    _login(client, company, Role.VIEWER)
    draft = {"subject": "Hi {{ first_name|upper }} from {{ shop_name }}", "body": "<b>Rate</b>"}

    response = client.post(TEMPLATE + "preview/", draft)

    fragment = response.content.decode()
    assert response.status_code == 200
    assert "Hi ALEX from ACME-A Shop" in fragment
    assert "&lt;b&gt;Rate&lt;/b&gt;" in fragment and "<b>Rate</b>" not in fragment
    assert "/r/sample-link-for-preview/" in fragment  # the link is added below the text
    assert 'id="subject-errors"' in fragment and 'hx-swap-oob="true"' in fragment


@pytest.mark.parametrize(
    ("field", "source", "message"),
    [
        ("subject", "Hi {{ first_name ", "syntax error"),
        ("body", "{{ first_name.__class__ }}", "Attribute access"),
        ("body", "{{ password }}", "Unknown variable(s): password"),
        ("body", "{% for x in y %}{% endfor %}", "Only {{ variables }}"),
    ],
)
def test_it_shows_template_errors_next_to_the_field(client, company, shop, field, source, message):
    """R7: the sandbox's errors are swapped in next to the field they belong to."""
    _login(client, company)
    draft = {"subject": "Hello", "body": "Please rate us.", field: source}

    fragment = client.post(TEMPLATE + "preview/", draft).content.decode()

    errors = re.search(
        rf'<div id="{field}-errors"[^>]*hx-swap-oob="true">(.*?)</div>', fragment, re.S
    )
    assert errors and message in errors.group(1).replace("&#x27;", "'")
    assert "No preview" in fragment


def test_it_saves_a_template_that_real_emails_then_use_and_resets_it(client, company, shop):
    """R7: saved text is what the next invitation uses; reset goes back to the platform's."""
    _login(client, company)
    draft = {"subject": "Your order {{ order_id }}", "body": "Dear {{ first_name }}, rate us!"}

    saved = client.post(TEMPLATE + "save/", draft, follow=True)

    assert saved.redirect_chain[-1][0] == TEMPLATE
    assert "was saved" in saved.content.decode()
    template = EmailTemplate.objects.for_company(company).get()
    assert (template.shop, template.kind, template.locale) == (shop, "invitation", "en")
    invitation = _invitation(shop, order__order_id="R-9", order__locale="en", first_name="Kim")
    rendered = emails.render_email(invitation, kind="invitation")
    assert rendered.subject == "Your order R-9" and "Dear Kim, rate us!" in rendered.text

    reset = client.post(TEMPLATE + "reset/", follow=True)

    assert "uses the platform's text again" in html.unescape(reset.content.decode())
    assert not EmailTemplate.objects.for_company(company).exists()
    assert emails.render_email(invitation, kind="invitation").subject != "Your order R-9"


def test_it_refuses_to_save_a_broken_template_and_keeps_the_draft(client, company, shop):
    """R7: errors next to the field, the draft stays in the form, nothing is saved."""
    _login(client, company)
    response = client.post(TEMPLATE + "save/", {"subject": "Hi {{ x", "body": "Rate us"})
    assert response.status_code == 400
    page = response.content.decode()
    assert re.search(r'id="subject-errors"[^>]*>\s*<span class="error">The template has', page)
    assert 'value="Hi {{ x"' in page
    assert not EmailTemplate.objects.for_company(company).exists()


def test_it_sends_a_test_to_the_user_only_a_few_times_an_hour(client, company, shop):
    """R7: the rendered draft goes to the signed-in user's address only, and is limited."""
    user = _login(client, company)
    draft = {"subject": "Test of {{ shop_name }}", "body": "Hello {{ first_name }}"}

    for _ in range(TEST_EMAILS_PER_HOUR):
        response = client.post(TEMPLATE + "test/", draft)
        assert response.status_code == 200
        assert f"A test email was sent to {user.email}" in response.content.decode()
    refused = client.post(TEMPLATE + "test/", draft)

    assert refused.status_code == 429 and "please wait" in refused.content.decode()
    assert len(mail.outbox) == TEST_EMAILS_PER_HOUR
    assert {tuple(message.to) for message in mail.outbox} == {(user.email,)}
    assert mail.outbox[0].subject == "[Test] Test of ACME-A Shop"
    assert "Hello Alex" in mail.outbox[0].body
    assert not EmailTemplate.objects.for_company(company).exists()  # a test is not a save


def test_it_lets_viewers_see_templates_but_not_change_them(client, company, shop):
    """R2: viewers see the editor read-only; saving, resetting and testing are refused."""
    _login(client, company, Role.VIEWER)
    page = client.get(TEMPLATE).content.decode()
    assert "readonly" in page and "Send a test to myself" not in page
    draft = {"subject": "Hello", "body": "Rate us"}
    for action in ("save/", "reset/", "test/"):
        assert client.post(TEMPLATE + action, draft).status_code == 403
    assert not EmailTemplate.objects.for_company(company).exists() and not mail.outbox


def test_it_answers_404_for_an_unknown_kind_or_language(client, company, shop):
    _login(client, company)
    assert client.get("/backend/invitations/templates/invitation/fr/").status_code == 404
    assert client.get("/backend/invitations/templates/welcome/en/").status_code == 404


def test_it_says_so_when_the_test_email_cannot_be_sent(
    client, company, shop, settings, unused_tcp_port
):
    """R7: a mail server that refuses the connection gives a message, not an error page."""
    send_to(settings, unused_tcp_port)  # nobody listens there
    settings.EMAIL_TIMEOUT = 2
    _login(client, company)

    response = client.post(TEMPLATE + "test/", {"subject": "Hello", "body": "Rate us"})

    assert response.status_code == 503
    assert "could not be sent" in response.content.decode()
    assert 'value="Hello"' in response.content.decode()  # the draft is kept
