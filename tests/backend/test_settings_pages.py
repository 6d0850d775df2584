"""The settings page: shop settings (R7, R14), notification and newsletter choices (R41) and the
requests that need platform staff, approved or refused in admin (R8, 004 §6.5, §6.9)."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from companies.models import (
    NewsletterConsent,
    NotificationPreference,
    Role,
    SettingsRequest,
    Shop,
)
from companies.services_settings import settings_request_create
from invitations.ingest import OrderInput, orders_ingest
from tests import factories
from tests.browser import logged_in, no_horizontal_scroll
from tests.platform.test_admin import admin_login

pytestmark = pytest.mark.django_db

SETTINGS = "/backend/settings/"
VALID_SHOP_SETTINGS = {
    "invitation_delay_days": "14",
    "delay_basis": "delivery",
    "reminders_enabled": "on",
    "reminder_count": "2",
    "reminder_interval_days": "5",
    "default_locale": "de",
    "non_transaction_reviews_enabled": "on",
}


def _member(company, role):
    return factories.MembershipFactory(company=company, role=role).user


@pytest.fixture
def manager(company):
    return _member(company, Role.MANAGER)


@pytest.fixture
def viewer(company):
    return _member(company, Role.VIEWER)


@pytest.fixture
def staff():
    return factories.UserFactory(email="root@platform.example", is_staff=True, is_superuser=True)


def _reload(shop) -> Shop:
    return Shop.objects.unscoped().get(pk=shop.pk)


# --- Shop settings ----------------------------------------------------------------------------


def test_it_saves_the_shop_settings_for_a_manager(client, shop, manager):
    """R7, R14, R2: a manager sets delay, reminders, email language and visitor reviews."""
    client.force_login(manager)

    response = client.post(f"{SETTINGS}shop/", VALID_SHOP_SETTINGS, follow=True)

    assert response.redirect_chain == [(SETTINGS, 302)]
    assert "The settings of ACME-A Shop were saved." in response.content.decode()
    shop = _reload(shop)
    assert shop.invitation_delay_days == 14
    assert shop.delay_basis == Shop.DelayBasis.DELIVERY
    assert (shop.reminder_count, shop.reminder_interval_days) == (2, 5)
    assert shop.default_locale == "de"
    assert shop.non_transaction_reviews_enabled is True


def test_it_turns_reminders_off(client, shop, manager):
    """R7: no reminders at all is a valid choice; the count is then zero."""
    client.force_login(manager)
    data = {**VALID_SHOP_SETTINGS, "reminder_count": ""}
    del data["reminders_enabled"]

    assert client.post(f"{SETTINGS}shop/", data).status_code == 302

    assert _reload(shop).reminder_count == 0
    page = client.get(SETTINGS).content.decode()
    assert 'name="reminders_enabled"' in page and 'name="reminders_enabled" checked' not in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("invitation_delay_days", "91", "Enter a number from 0 to 90 days."),
        ("invitation_delay_days", "-1", "Enter a number from 0 to 90 days."),
        ("reminder_count", "4", "Enter a number from 1 to 3 reminders."),
        ("reminder_count", "", "Enter how many reminders to send (1 to 3), or turn them off."),
        ("reminder_interval_days", "0", "Enter a number from 1 to 60 days."),
        ("default_locale", "fr", "Choose English or German."),
    ],
)
def test_it_shows_a_clear_message_next_to_a_wrong_field(
    client, shop, manager, field, value, message
):
    """R7 limits (Shop model): the error sits next to its field and nothing is saved."""
    client.force_login(manager)

    response = client.post(f"{SETTINGS}shop/", {**VALID_SHOP_SETTINGS, field: value})

    assert response.status_code == 400
    body = response.content.decode()
    assert f'<span class="error" id="id_{field}-error">{message}</span>' in body
    assert _reload(shop).invitation_delay_days == 7
    assert _reload(shop).default_locale == "en"


def test_it_shows_the_settings_to_a_viewer_but_does_not_let_them_change(client, shop, viewer):
    """R2: viewers read; changing shop settings or asking staff needs a manager."""
    client.force_login(viewer)

    page = client.get(SETTINGS)

    assert page.status_code == 200
    body = page.content.decode()
    assert "Only managers and owners can change these settings." in body
    assert reverse("backend:settings-shop") not in body
    assert reverse("backend:settings-request-pause") not in body
    for name in ("settings-shop", "settings-request-pause", "settings-request-selection-group"):
        assert client.post(reverse(f"backend:{name}"), VALID_SHOP_SETTINGS).status_code == 403
    assert _reload(shop).invitation_delay_days == 7


def test_it_works_on_the_shop_chosen_in_the_header(client, company, shop, manager):
    """The page follows the shop switcher; the other shop of the company stays unchanged."""
    second = factories.ShopFactory(company=company, name="ACME-A Second", slug="acme-a-second")
    client.force_login(manager)
    client.post("/backend/switch-shop/", {"shop_id": second.pk})

    client.post(f"{SETTINGS}shop/", VALID_SHOP_SETTINGS)

    assert _reload(second).invitation_delay_days == 14
    assert _reload(shop).invitation_delay_days == 7


# --- Notifications and newsletter -------------------------------------------------------------


def test_it_saves_each_users_own_notification_choices(client, company, shop, viewer, manager):
    """R41: every member chooses for themselves, viewers too; colleagues keep their defaults."""
    client.force_login(viewer)

    response = client.post(
        f"{SETTINGS}notifications/", {"new_review": "on", "weekly_digest": ""}, follow=True
    )

    assert "Your notification choices were saved." in response.content.decode()
    mine = NotificationPreference.objects.for_company(company).get(user=viewer)
    assert (mine.new_review, mine.low_rating, mine.weekly_digest) == (True, False, False)
    assert not NotificationPreference.objects.for_company(company).filter(user=manager).exists()


def test_it_records_newsletter_consent_and_its_withdrawal(client, shop, viewer):
    """R41, 000 §5: opt-in only, with time and source; the opt-out closes the record."""
    client.force_login(viewer)
    page = client.get(SETTINGS).content.decode()
    assert "You do not receive the newsletter." in page
    assert 'name="subscribed" checked' not in page

    client.post(f"{SETTINGS}newsletter/", {"subscribed": "on"})
    client.post(f"{SETTINGS}newsletter/", {"subscribed": "on"})  # twice: still one record
    consent = NewsletterConsent.objects.get(user=viewer)
    assert consent.source == NewsletterConsent.Source.BACKEND_SETTINGS
    assert consent.withdrawn_at is None

    response = client.post(f"{SETTINGS}newsletter/", {}, follow=True)

    consent.refresh_from_db()
    assert consent.withdrawn_at is not None
    assert consent.withdrawal_source == NewsletterConsent.Source.BACKEND_SETTINGS
    body = response.content.decode()
    assert "You will not receive the newsletter." in body
    assert "Subscribed on" in body and "unsubscribed on" in body and "backend settings" in body

    client.post(f"{SETTINGS}newsletter/", {"subscribed": "on"})
    assert NewsletterConsent.objects.filter(user=viewer).count() == 2  # history is kept


# --- Requests that need staff (R8) ------------------------------------------------------------


def _approve(client, staff, rows, note=""):
    admin_login(client, staff)
    return client.post(
        reverse("admin:companies_settingsrequest_changelist"),
        {
            "action": "approve_requests",
            "_selected_action": [row.pk for row in rows],
            "decision_note": note,
        },
        follow=True,
    )


def test_it_pauses_invitations_after_staff_approve_the_request(
    client,
    other_client,
    company,
    shop,
    owner,
    manager,
    viewer,
    staff,
    eager_tasks,
    django_capture_on_commit_callbacks,
):
    """R8, 004 §6.9: the company asks, the request waits, staff approve in admin, the shop is
    paused for exactly those days and the owners and managers are told by email."""
    start = timezone.localdate() + datetime.timedelta(days=3)
    end = start + datetime.timedelta(days=13)
    client.force_login(manager)

    response = client.post(
        f"{SETTINGS}requests/pause/",
        {"pause_from": start.isoformat(), "pause_until": end.isoformat(), "reason": "Stocktaking"},
        follow=True,
    )

    body = response.content.decode()
    assert "Your request was sent to platform staff." in body
    assert "waiting for approval" in body and "Stocktaking" in body
    row = SettingsRequest.objects.for_company(company).get()
    assert (row.kind, row.status, row.requested_by) == ("pause", "pending", manager)
    assert not _reload(shop).invitations_paused_on(start)  # nothing changes before approval

    staff_client = other_client
    with django_capture_on_commit_callbacks(execute=True):
        answer = _approve(staff_client, staff, [row], note="Granted once.")

    assert "Approved 1 request." in answer.content.decode()
    shop = _reload(shop)
    assert (shop.invitations_paused_from, shop.invitations_paused_until) == (start, end)
    assert shop.invitations_paused_on(start) and shop.invitations_paused_on(end)
    assert not shop.invitations_paused_on(start - datetime.timedelta(days=1))
    assert not shop.invitations_paused_on(end + datetime.timedelta(days=1))
    row.refresh_from_db()
    assert (row.status, row.decided_by, row.decision_note) == ("approved", staff, "Granted once.")
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert sorted(email.to) == sorted([owner.email, manager.email])
    assert email.subject == "Approved: pause invitations for ACME-A Shop"
    assert "Granted once." in email.body and start.strftime("%d/%m/%Y") in email.body

    with django_capture_on_commit_callbacks(execute=True):
        again = _approve(staff_client, staff, [row])
    assert "Approved 0 requests." in again.content.decode()
    assert len(mail.outbox) == 1


def test_it_applies_an_approved_selection_group(
    client,
    other_client,
    company,
    shop,
    manager,
    staff,
    eager_tasks,
    django_capture_on_commit_callbacks,
):
    """R8, 004 §6.5: once approved, the criteria are the shop's and orders outside the group
    may skip the invitation; before, such an order is refused."""
    criteria = "Only customers of our online shop, not of our stores."
    skip = [OrderInput(order_id="STORE-1", email="a@example.net", invite=False)]
    assert orders_ingest(shop=shop, orders=skip)[0].outcome == "rejected"
    client.force_login(manager)
    client.post(f"{SETTINGS}requests/selection-group/", {"criteria": criteria})
    row = SettingsRequest.objects.for_company(company).get()

    with django_capture_on_commit_callbacks(execute=True):
        _approve(other_client, staff, [row])

    shop = _reload(shop)
    assert shop.has_selection_group and shop.selection_group_criteria == criteria
    assert shop.selection_group_approved_by == staff
    assert orders_ingest(shop=shop, orders=skip)[0].outcome != "rejected"
    assert criteria in client.get(f"/c/{shop.slug}/").content.decode()  # R27: shown publicly
    assert mail.outbox[0].subject == "Approved: defined selection group for ACME-A Shop"


def test_it_refuses_a_request_only_with_a_reason(
    client,
    other_client,
    company,
    shop,
    owner,
    staff,
    eager_tasks,
    django_capture_on_commit_callbacks,
):
    """R8: a refusal carries staff's reason to the company; the shop stays as it was."""
    row = settings_request_create(
        shop=shop,
        kind=SettingsRequest.Kind.PAUSE,
        requested_by=owner,
        pause_from=timezone.localdate(),
        pause_until=timezone.localdate(),
        reason="Holiday",
    )
    staff_client = other_client
    admin_login(staff_client, staff)
    url = reverse("admin:companies_settingsrequest_changelist")
    data = {"action": "refuse_requests", "_selected_action": [row.pk], "decision_note": ""}

    without = staff_client.post(url, data, follow=True)
    assert "Write the reason for the refusal in the note." in without.content.decode()
    row.refresh_from_db()
    assert row.status == "pending"

    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(url, {**data, "decision_note": "Not during the season."})

    row.refresh_from_db()
    assert (row.status, row.decision_note) == ("refused", "Not during the season.")
    assert _reload(shop).invitations_paused_from is None
    assert mail.outbox[0].subject == "Refused: pause invitations for ACME-A Shop"
    assert "Not during the season." in mail.outbox[0].body
    client.force_login(owner)
    assert "Not during the season." in client.get(SETTINGS).content.decode()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"pause_from": "2000-01-01", "pause_until": "2000-01-02"}, "pause_from", "past"),
        ({"pause_from": "+5", "pause_until": "+4"}, "pause_until", "on or after the start"),
        ({"pause_from": "+1", "pause_until": "+181"}, "pause_until", "at most 180 days"),
        ({"pause_from": "+1", "pause_until": "+2", "reason": ""}, "reason", "Tell us why"),
    ],
)
def test_it_checks_the_pause_dates(client, company, shop, manager, data, field, message):
    """R8: a pause starts today or later, ends after it starts and lasts at most 180 days."""
    today = timezone.localdate()

    def day(value):
        if value.startswith("+"):
            return (today + datetime.timedelta(days=int(value[1:]))).isoformat()
        return value

    posted = {"reason": "Moving warehouse", **{k: day(v) for k, v in data.items()}}
    client.force_login(manager)

    response = client.post(f"{SETTINGS}requests/pause/", posted)

    assert response.status_code == 400
    body = response.content.decode()
    assert f'id="id_{field}-error"' in body and message in body
    assert not SettingsRequest.objects.for_company(company).exists()


def test_it_keeps_one_pending_request_per_kind_and_lets_it_be_withdrawn(
    client, company, shop, manager
):
    """R8: a second pause request waits for the first; a withdrawn one can be asked again."""
    client.force_login(manager)
    data = {"criteria": "Only customers who ordered online with delivery.", "reason": ""}
    client.post(f"{SETTINGS}requests/selection-group/", data)

    second = client.post(f"{SETTINGS}requests/selection-group/", data)

    assert second.status_code == 400
    assert "already waiting for platform staff" in second.content.decode()
    row = SettingsRequest.objects.for_company(company).get()
    response = client.post(f"{SETTINGS}requests/{row.pk}/withdraw/", follow=True)
    assert "Your request was withdrawn." in response.content.decode()
    row.refresh_from_db()
    assert row.status == "withdrawn"
    assert client.post(f"{SETTINGS}requests/selection-group/", data).status_code == 302
    again = client.post(f"{SETTINGS}requests/{row.pk}/withdraw/", follow=True)
    assert "Only a request that is still waiting can be withdrawn." in again.content.decode()


def test_it_renders_the_page_in_a_fixed_number_of_queries(client, company, shop, manager):
    """STYLE: the list of requests costs the same queries for 1 or 15 rows."""
    client.force_login(manager)

    def count(n):
        SettingsRequest.objects.for_company(company).delete()
        for i in range(n):
            SettingsRequest.objects.for_company(company).create(
                company=company,
                shop=shop,
                kind=SettingsRequest.Kind.PAUSE,
                status=SettingsRequest.Status.REFUSED,
                pause_from=datetime.date(2026, 1, 1),
                pause_until=datetime.date(2026, 1, 2 + i),
                requested_by=manager,
            )
        with CaptureQueriesContext(connection) as queries:
            assert client.get(SETTINGS).status_code == 200
        return len(queries)

    client.get(SETTINGS)  # the first page of a session also writes the session
    assert count(1) == count(15)


# --- In a real browser, at phone width ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_it_works_at_320_pixels_in_a_browser(live_server, browser_context, company, shop):
    """STYLE: the page fits 320 px, works under the strict CSP, and a manager saves a setting."""
    logged_in(browser_context, live_server.url, _member(company, Role.MANAGER))
    page = browser_context.new_page()
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.set_viewport_size({"width": 320, "height": 800})
    page.goto(f"{live_server.url}{SETTINGS}")
    assert no_horizontal_scroll(page)
    page.get_by_label("Send the invitation after (days)").fill("120")
    page.get_by_role("button", name="Save settings").click()
    assert page.get_by_text("Enter a number from 0 to 90 days.").is_visible()
    page.get_by_label("Send the invitation after (days)").fill("10")
    page.get_by_role("button", name="Save settings").click()
    page.get_by_text("The settings of ACME-A Shop were saved.").wait_for()
    assert no_horizontal_scroll(page)
    assert _reload(shop).invitation_delay_days == 10
    # The 400 of the invalid form is expected; a blocked script or style would show up here.
    assert not [p for p in problems if "Content Security Policy" in p], problems
