"""Notification emails to company users and the newsletter's unsubscribe link (R41, 001 §10.3).

- A new published review, or one with at most ``LOW_RATING_MAX`` stars, goes to the users who
  asked for it (``NotificationPreference``), once per review and user
  (``review-new:<review id>:user:<user id>``). The ``review_changed`` signal (sent after commit)
  queues a task with the shop's id; the task looks at the shop's reviews published in the last
  ``NEW_REVIEW_WINDOW`` and sends what has not gone out yet.
- The weekly digest summarises the previous ISO week, once per user, company and week
  (``digest:<year>-W<week>:user:<user id>``).
- Every one of these emails is non-transactional, so it carries a one-click unsubscribe link
  (RFC 8058 ``List-Unsubscribe`` + ``List-Unsubscribe-Post``): a signed token, valid without
  login, that turns exactly that preference off. Newsletters use the same link for the consent.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from companies.models import (
    Company,
    CompanyEmail,
    Membership,
    NewsletterConsent,
    NotificationPreference,
    Shop,
    User,
)
from companies.outbox import send_company_email

logger = logging.getLogger(__name__)

Topic = NotificationPreference.Topic
LOW_RATING_MAX = 2  # R12: 2 "unsatisfactory" and 1 "inadequate" are the negative ratings
NEW_REVIEW_WINDOW = datetime.timedelta(days=2)
UNSUBSCRIBE_SALT = "companies.notifications.unsubscribe"
NEWSLETTER = "newsletter"
EMAIL_LOCALES = ("en", "de")
DONE = (CompanyEmail.Status.SENT, CompanyEmail.Status.SKIPPED)


# --- One-click unsubscribe ----------------------------------------------------------------------


def unsubscribe_token(*, user_id: int, topic: str, company_id: int | None = None) -> str:
    """A signed reference to (user, what to stop, company); it carries no address."""
    return signing.dumps({"u": user_id, "t": topic, "c": company_id}, salt=UNSUBSCRIBE_SALT)


def unsubscribe_url(*, user_id: int, topic: str, company_id: int | None = None) -> str:
    token = unsubscribe_token(user_id=user_id, topic=topic, company_id=company_id)
    return settings.SITE_URL + reverse("email-unsubscribe", args=[token])


@dataclass(frozen=True)
class UnsubscribeTarget:
    user: User
    topic: str
    company: Company | None


def unsubscribe_target(token: str) -> UnsubscribeTarget | None:
    """What a genuine token names, else None (a bad or foreign token looks like a missing page)."""
    try:
        payload = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict):
        return None
    user_id, topic, company_id = payload.get("u"), payload.get("t"), payload.get("c")
    if not isinstance(user_id, int) or topic not in (*Topic.values, NEWSLETTER):
        return None
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return None
    if topic == NEWSLETTER:
        return UnsubscribeTarget(user, topic, None)
    if not isinstance(company_id, int):
        return None
    company = Company.objects.filter(pk=company_id).first()
    return UnsubscribeTarget(user, topic, company) if company is not None else None


def with_unsubscribe(message: EmailMessage, url: str) -> EmailMessage:
    message.extra_headers.update(
        {
            "List-Unsubscribe": f"<{url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        }
    )
    return message


def _locale(value: str | None) -> str:
    primary = (value or "").replace("_", "-").split("-")[0].lower()
    return primary if primary in EMAIL_LOCALES else EMAIL_LOCALES[0]


def _render(name: str, context: dict) -> tuple[str, str]:
    subject = render_to_string(f"emails/notifications/{name}_subject.txt", context)
    body = render_to_string(f"emails/notifications/{name}.txt", context)
    return " ".join(subject.split()), body


# --- New reviews and low ratings --------------------------------------------------------------


def on_review_changed(sender, *, company_id: int, shop_id: int, **kwargs) -> None:
    """``review_changed`` receiver (sent after commit): queue the shop's notification check."""
    from companies.tasks import send_review_notifications

    try:
        # retry=False: a broker outage must not hold up the sender (the review is saved).
        send_review_notifications.apply_async(args=[shop_id], retry=False)
    except Exception:  # noqa: BLE001 - the review is published either way; log and go on
        logger.warning("shop %s: review notifications could not be queued", shop_id)


def _review_subscribers(company_id: int) -> list[NotificationPreference]:
    """Preferences of the company's active members who want per-review emails."""
    return list(
        NotificationPreference.objects.for_company(company_id)
        .filter(Q(new_review=True) | Q(low_rating=True), user__is_active=True)
        .filter(
            Exists(Membership.objects.for_company(company_id).filter(user_id=OuterRef("user_id")))
        )
        .select_related("user")
        .order_by("pk")
    )


def review_key(review_id: int, user_id: int) -> str:
    return f"review-new:{review_id}:user:{user_id}"


def _done_keys(company_id: int, keys: Iterable[str]) -> set[str]:
    return set(
        CompanyEmail.objects.for_company(company_id)
        .filter(key__in=list(keys), status__in=DONE)
        .values_list("key", flat=True)
    )


def review_notifications_send(*, shop_id: int, now: datetime.datetime | None = None) -> int:
    """Email the shop's recently published reviews to the users who want them; returns how
    many emails went out. Safe to run twice: each (review, user) is sent once."""
    from reviews.models import Review

    now = now or timezone.now()
    shop = Shop.objects.unscoped().select_related("company").filter(pk=shop_id).first()
    if shop is None or shop.company.status != Company.Status.ACTIVE:
        return 0
    subscribers = _review_subscribers(shop.company_id)
    if not subscribers:
        return 0
    reviews = list(
        Review.objects.for_company(shop.company_id)
        .filter(
            shop_id=shop_id,
            status=Review.Status.PUBLISHED,
            published_at__gte=now - NEW_REVIEW_WINDOW,
        )
        .select_related("product")
        .order_by("published_at", "pk")
    )
    wanted = [
        (review, pref)
        for review in reviews
        for pref in subscribers
        if pref.new_review or review.rating <= LOW_RATING_MAX
    ]
    done = _done_keys(shop.company_id, (review_key(r.pk, p.user_id) for r, p in wanted))
    sent = 0
    for review, pref in wanted:
        key = review_key(review.pk, pref.user_id)
        if key in done:
            continue
        build = partial(_review_message, shop, review, pref)
        if send_company_email(company_id=shop.company_id, key=key, build=build) == "sent":
            sent += 1
    return sent


def _review_message(shop: Shop, review, pref: NotificationPreference) -> EmailMessage | None:
    user = User.objects.filter(pk=pref.user_id, is_active=True).first()
    if user is None:
        return None
    topic = Topic.NEW_REVIEW if pref.new_review else Topic.LOW_RATING
    url = unsubscribe_url(user_id=user.pk, topic=topic, company_id=shop.company_id)
    context = {
        "shop": shop,
        "review": review,
        "low": review.rating <= LOW_RATING_MAX,
        "topic_label": Topic(topic).label,
        "backend_url": settings.SITE_URL + reverse("backend:dashboard"),
        "unsubscribe_url": url,
    }
    with translation.override(_locale(shop.default_locale)):
        subject, body = _render("review", context)
    return with_unsubscribe(EmailMessage(subject=subject, body=body, to=[user.email]), url)


# --- Weekly digest ----------------------------------------------------------------------------


def digest_week(today: datetime.date) -> tuple[datetime.date, str]:
    """The Monday of the ISO week before ``today`` and its key, e.g. ``2026-W47``."""
    start = today - datetime.timedelta(days=today.weekday() + 7)
    iso = start.isocalendar()
    return start, f"{iso.year}-W{iso.week:02d}"


@dataclass(frozen=True)
class ShopWeek:
    shop: Shop
    count: int
    average: str  # one decimal, rounded down (R25)
    low: int


def _one_decimal_down(total: int, count: int) -> str:
    """R25: exact integer arithmetic, rounded down, e.g. 14 stars / 3 reviews -> "4.6"."""
    tenths = total * 10 // count
    return f"{tenths // 10}.{tenths % 10}"


def week_summary(company_id: int, start: datetime.date) -> list[ShopWeek]:
    """Per shop: reviews published in the week from ``start`` (local time), their average."""
    from reviews.models import Review

    zone = timezone.get_current_timezone()
    begin = datetime.datetime.combine(start, datetime.time.min, tzinfo=zone)
    end = begin + datetime.timedelta(days=7)
    rows = (
        Review.objects.for_company(company_id)
        .filter(status=Review.Status.PUBLISHED, published_at__gte=begin, published_at__lt=end)
        .values("shop_id")
        .annotate(
            n=Count("pk"),
            total=Sum("rating"),
            low=Count("pk", filter=Q(rating__lte=LOW_RATING_MAX)),
        )
        .order_by()
    )
    by_shop = {row["shop_id"]: row for row in rows}
    shops = Shop.objects.for_company(company_id).filter(pk__in=by_shop).order_by("name", "pk")
    return [
        ShopWeek(
            shop,
            by_shop[shop.pk]["n"],
            _one_decimal_down(by_shop[shop.pk]["total"], by_shop[shop.pk]["n"]),
            by_shop[shop.pk]["low"],
        )
        for shop in shops
    ]


def _digest_recipients() -> dict[int, list[int]]:
    """company id -> user ids of active members of active companies who did not opt out."""
    # Deliberately cross-tenant: the weekly job serves every company.
    opted_out = NotificationPreference.objects.unscoped().filter(
        company_id=OuterRef("company_id"), user_id=OuterRef("user_id"), weekly_digest=False
    )
    members = (
        Membership.objects.unscoped()
        .filter(company__status=Company.Status.ACTIVE, user__is_active=True)
        .exclude(Exists(opted_out))
        .order_by("company_id", "user_id")
        .values_list("company_id", "user_id")
    )
    recipients: dict[int, list[int]] = {}
    for company_id, user_id in members:
        recipients.setdefault(company_id, []).append(user_id)
    return recipients


def weekly_digests_send(*, today: datetime.date | None = None) -> int:
    """The digest of last week to everyone who wants it; returns how many emails went out.

    Idempotent per ISO week: a second run (or a retry after a failure) sends only what is
    missing. A company without any new review that week gets no digest (nothing to tell).
    """
    start, week = digest_week(today or timezone.localdate())
    sent = 0
    for company_id, user_ids in _digest_recipients().items():
        summary = week_summary(company_id, start)
        if not summary:
            continue
        for user_id in user_ids:
            build = partial(_digest_message, company_id, user_id, start, summary)
            key = f"digest:{week}:user:{user_id}"
            if send_company_email(company_id=company_id, key=key, build=build) == "sent":
                sent += 1
    return sent


def _digest_message(company_id, user_id, start, summary) -> EmailMessage | None:
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return None
    url = unsubscribe_url(user_id=user_id, topic=Topic.WEEKLY_DIGEST, company_id=company_id)
    context = {
        "company": Company.objects.get(pk=company_id),
        "start": start,
        "end": start + datetime.timedelta(days=6),
        "summary": summary,
        "total": sum(row.count for row in summary),
        "backend_url": settings.SITE_URL + reverse("backend:dashboard"),
        "unsubscribe_url": url,
    }
    with translation.override(_locale(summary[0].shop.default_locale)):
        subject, body = _render("digest", context)
    return with_unsubscribe(EmailMessage(subject=subject, body=body, to=[user.email]), url)


# --- Newsletter (opt-in only) -----------------------------------------------------------------


def newsletter_subscribed(user: User) -> bool:
    return NewsletterConsent.objects.filter(user=user, withdrawn_at__isnull=True).exists()


def newsletter_message(*, user: User, subject: str, body: str) -> EmailMessage | None:
    """A newsletter email for ``user``, or None without a current opt-in (R41, 000 §5).

    The platform's newsletter sender builds every message here, so none goes out without
    consent or without the one-click unsubscribe link.
    """
    if not user.is_active or not newsletter_subscribed(user):
        return None
    url = unsubscribe_url(user_id=user.pk, topic=NEWSLETTER)
    text = f"{body.rstrip()}\n\n-- \n{_unsubscribe_line()} {url}\n"
    return with_unsubscribe(EmailMessage(subject=subject, body=text, to=[user.email]), url)


def _unsubscribe_line() -> str:
    from django.utils.translation import gettext

    return gettext("Unsubscribe from the newsletter with one click:")


# --- Decisions on requests that need staff (R8) -----------------------------------------------


def settings_request_decision_send(*, request_id: int) -> str:
    """Tell the company's owners and managers that staff approved or refused a request."""
    from companies.models import Role, SettingsRequest
    from companies.outbox import company_addresses

    # A task holds only the id: find its company first, then read inside it.
    row = SettingsRequest.objects.unscoped().filter(pk=request_id).select_related("shop").first()
    if row is None or row.status not in (
        SettingsRequest.Status.APPROVED,
        SettingsRequest.Status.REFUSED,
    ):
        return "nothing to tell"

    def build() -> EmailMessage | None:
        recipients = company_addresses(row.company_id, roles=(Role.OWNER, Role.MANAGER))
        if not recipients:
            return None
        context = {
            "request": row,
            "shop": row.shop,
            "approved": row.status == SettingsRequest.Status.APPROVED,
            "settings_url": settings.SITE_URL + reverse("backend:settings"),
        }
        with translation.override(_locale(row.shop.default_locale)):
            subject, body = _render("settings_request_decided", context)
        return EmailMessage(
            subject=subject,
            body=body,
            to=recipients,
            headers={"Auto-Submitted": "auto-generated"},
        )

    key = f"settings-request:{row.pk}:{row.status}"
    return send_company_email(company_id=row.company_id, key=key, build=build)
