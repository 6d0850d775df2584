"""Notification emails to company users: new reviews, low ratings, the weekly digest, and the
one-click unsubscribe (RFC 8058) of these and of the newsletter (R41, 001 §10.3-10.4)."""

from __future__ import annotations

import datetime
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.utils import timezone

from companies import notifications
from companies.models import (
    CompanyEmail,
    Membership,
    NewsletterConsent,
    NotificationPreference,
    Role,
)
from companies.services_settings import newsletter_opt_in, notification_preferences_set
from companies.tasks import send_review_notifications, send_weekly_digests
from ekomi.celery import app as celery_app
from reviews.models import Review
from reviews.signals import review_changed
from tests import factories
from tests.dates import local_time as _at

pytestmark = pytest.mark.django_db

MONDAY = datetime.date(2026, 11, 23)  # ISO week 48; the digest covers 16-22 November (W47)


@pytest.fixture
def eager():
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


def _member(company, role=Role.VIEWER, **flags):
    user = factories.MembershipFactory(company=company, role=role).user
    if flags:
        notification_preferences_set(company=company, user=user, **flags)
    return user


def _sent_to(user) -> list:
    return [m for m in mail.outbox if user.email in m.to]


def _unsubscribe_url(message) -> str:
    header = message.extra_headers["List-Unsubscribe"]
    assert header.startswith("<") and header.endswith(">")
    return header[1:-1]


def _path(url: str) -> str:
    return urlsplit(url).path


# --- New reviews and low ratings --------------------------------------------------------------


def test_it_emails_a_new_review_once_to_the_users_who_asked(company, shop, other_company):
    """R41: new-review emails go to the users who chose them, once per review, however often
    the task runs; low-rating-only users hear only of 1 and 2 stars; outsiders hear nothing."""
    everything = _member(company, new_review=True)
    low_only = _member(company, low_rating=True)
    silent = _member(company, new_review=False, low_rating=False)
    default = _member(company)  # never chose: per-review emails are off
    outsider = _member(other_company, new_review=True)
    good = factories.ReviewFactory(shop=shop, rating=5, comment="Great service")
    bad = factories.ReviewFactory(shop=shop, rating=1, comment="Never arrived")

    assert send_review_notifications(shop.pk) == 3
    assert send_review_notifications(shop.pk) == 0

    assert sorted(m.subject for m in _sent_to(everything)) == [
        "Low rating for ACME-A Shop: 1 of 5 stars",
        "New review for ACME-A Shop: 5 of 5 stars",
    ]
    [low] = _sent_to(low_only)
    assert low.subject == "Low rating for ACME-A Shop: 1 of 5 stars"
    assert "Never arrived" in low.body and "inadequate" in low.body
    assert not _sent_to(silent) and not _sent_to(default) and not _sent_to(outsider)
    keys = set(CompanyEmail.objects.for_company(company).values_list("key", flat=True))
    assert f"review-new:{good.pk}:user:{everything.pk}" in keys
    assert f"review-new:{bad.pk}:user:{low_only.pk}" in keys


def test_it_skips_unpublished_old_and_removed_members_reviews(company, shop):
    """R41: only reviews published in the last two days, only to current active members."""
    user = _member(company, new_review=True)
    gone = _member(company, new_review=True)
    Membership.objects.for_company(company).filter(user=gone).delete()
    factories.ReviewFactory(shop=shop, status=Review.Status.PENDING, published_at=None)
    factories.ReviewFactory(
        shop=shop, published_at=timezone.now() - notifications.NEW_REVIEW_WINDOW * 2
    )

    assert send_review_notifications(shop.pk) == 0

    fresh = factories.ReviewFactory(shop=shop, rating=4)
    assert send_review_notifications(shop.pk) == 1
    assert [m.to for m in mail.outbox] == [[user.email]]
    assert str(fresh.rating) in mail.outbox[0].subject


def test_it_queues_the_notifications_when_a_review_is_published(company, shop, eager):
    """R41: the reviews app's ``review_changed`` signal (after commit) triggers the task."""
    user = _member(company, new_review=True)
    factories.ReviewFactory(shop=shop, rating=3)

    review_changed.send(sender=Review, company_id=company.pk, shop_id=shop.pk, product_ids=set())

    assert [m.to for m in mail.outbox] == [[user.email]]


def test_it_unsubscribes_with_one_click_without_login(client, company, shop):
    """R41, RFC 8058: the link in the header works without login; GET asks, POST turns off
    exactly that preference; a forged token is a plain 404."""
    user = _member(company, new_review=True, weekly_digest=True)
    factories.ReviewFactory(shop=shop)
    send_review_notifications(shop.pk)
    [message] = mail.outbox
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = _unsubscribe_url(message)
    assert url in message.body
    path = _path(url)

    page = client.get(path)
    assert page.status_code == 200 and "Unsubscribe?" in page.content.decode()
    preference = NotificationPreference.objects.for_company(company).get(user=user)
    assert preference.new_review is True

    done = client.post(path)  # what a mail client sends, without cookies or CSRF token

    assert done.status_code == 200 and "You are unsubscribed" in done.content.decode()
    assert done["Cache-Control"] == "no-store"
    preference.refresh_from_db()
    assert (preference.new_review, preference.weekly_digest) == (False, True)
    assert client.post(path[:-5] + "xxxx/").status_code == 404


# --- Weekly digest ----------------------------------------------------------------------------


def test_it_sends_the_weekly_digest_once_per_week(company, shop, other_company, other_shop):
    """R41: last ISO week's new reviews and their average (rounded down, R25), once per week
    and user; opted-out users and companies without new reviews get nothing."""
    reader = _member(company, Role.MANAGER)
    opted_out = _member(company, weekly_digest=False)
    quiet_company_user = _member(other_company)
    for rating, day in ((5, 16), (4, 18), (5, 22)):
        moment = _at(datetime.date(2026, 11, day))
        factories.ReviewFactory(shop=shop, rating=rating, submitted_at=moment, published_at=moment)
    earlier = _at(datetime.date(2026, 11, 15))
    factories.ReviewFactory(shop=shop, rating=1, submitted_at=earlier, published_at=earlier)

    assert notifications.weekly_digests_send(today=MONDAY) == 1
    assert notifications.weekly_digests_send(today=MONDAY) == 0
    assert notifications.weekly_digests_send(today=MONDAY + datetime.timedelta(days=3)) == 0

    [digest] = mail.outbox
    assert digest.to == [reader.email]
    assert digest.subject == "Your reviews last week (ACME-A Trading, from 16/11/2026)"
    assert "3 new reviews were published" in digest.body
    assert "ACME-A Shop: 3 reviews, average 4.6 stars" in digest.body
    assert "with 1 or 2 stars" not in digest.body
    assert _unsubscribe_url(digest) in digest.body
    assert not _sent_to(opted_out) and not _sent_to(quiet_company_user)
    key = f"digest:2026-W47:user:{reader.pk}"
    assert CompanyEmail.objects.for_company(company).filter(key=key, status="sent").exists()


def test_it_runs_the_digest_as_a_beat_task(settings, company, shop):
    """R41: the weekly job is scheduled and its task sends what is due today."""
    entry = settings.CELERY_BEAT_SCHEDULE["weekly-digests"]
    assert entry["task"] == "companies.send_weekly_digests"
    user = _member(company)
    last_week = timezone.localdate() - datetime.timedelta(days=timezone.localdate().weekday() + 3)
    factories.ReviewFactory(shop=shop, submitted_at=_at(last_week), published_at=_at(last_week))

    assert send_weekly_digests.apply().get() == 1
    assert [m.to for m in mail.outbox] == [[user.email]]


def test_it_stops_the_digest_with_its_link(client, company, shop):
    """R41: the digest's one-click link turns off the digest for that company only."""
    user = _member(company)
    second = factories.CompanyFactory(name="Second Co")
    factories.MembershipFactory(company=second, user=user, role=Role.VIEWER)
    moment = _at(datetime.date(2026, 11, 17))
    factories.ReviewFactory(shop=shop, submitted_at=moment, published_at=moment)
    notifications.weekly_digests_send(today=MONDAY)

    client.post(_path(_unsubscribe_url(mail.outbox[0])))

    assert NotificationPreference.objects.for_company(company).get(user=user).weekly_digest is False
    assert not NotificationPreference.objects.for_company(second).filter(user=user).exists()


# --- Newsletter -------------------------------------------------------------------------------


def test_it_builds_newsletters_only_with_consent_and_unsubscribes_them(client, company):
    """R41, 000 §5: no newsletter without opt-in; each one carries the one-click link, which
    records the withdrawal in the consent history."""
    user = _member(company)
    assert notifications.newsletter_message(user=user, subject="News", body="Hello") is None
    newsletter_opt_in(user=user, source=NewsletterConsent.Source.SIGNUP)

    message = notifications.newsletter_message(user=user, subject="News", body="Hello")

    assert message.to == [user.email]
    url = _unsubscribe_url(message)
    assert url in message.body
    client.post(_path(url))
    consent = NewsletterConsent.objects.get(user=user)
    assert consent.source == NewsletterConsent.Source.SIGNUP
    assert consent.withdrawal_source == NewsletterConsent.Source.UNSUBSCRIBE_LINK
    assert consent.withdrawn_at is not None
    assert notifications.newsletter_message(user=user, subject="News", body="Hello") is None
