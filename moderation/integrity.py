"""Integrity signals: signs of manipulation, flagged to moderators (R23, 004 §6.8, AB-3, AB-4).

At submission ``review_screen`` (a receiver of ``reviews.services.review_screening``) holds a
review written from the address or email domain of one of the company's users, from a network
the company's users signed in from, or in a burst from one network or right after its
invitation. Each hold becomes an ``IntegritySignal`` with an explanation; nothing is acted on
silently. None of it looks at the stars (R17).

Client addresses are never stored: only a keyed hash of the truncated network (IPv4 /24, IPv6
/48), purged after ``RETENTION_DAYS`` by ``integrity_signals_purge``. A daily scan
(``integrity_coverage_scan``) compares orders received with invitations sent and flags sudden
drops in order volume.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.crypto import salted_hmac

from companies.models import Membership, Shop
from ekomi.ratelimit import client_ip as request_client_ip
from invitations.models import Invitation, Order
from moderation import checks
from moderation.models import IntegritySignal, NetworkSighting
from reviews.models import Review

Kind = IntegritySignal.Kind

RETENTION_DAYS = 90
STAFF_NETWORK_DAYS = 30  # a review from a network the company's users used this recently
BURST_REVIEWS = 5  # reviews of one shop from one network within BURST_WINDOW
BURST_WINDOW = datetime.timedelta(hours=1)
QUICK_SECONDS = 60  # a review this soon after its invitation was created is "quick" (AB-4(a))
QUICK_BURST = 5  # quick reviews of one shop within BURST_WINDOW
COVERAGE_MIN_ORDERS = 20  # too few orders say nothing about coverage
COVERAGE_MIN_SHARE = 0.8  # invited share of orders below this is flagged (R8)
VOLUME_MIN_WEEKLY = 10  # weekly orders before a drop means anything
VOLUME_DROP_SHARE = 0.3  # the last week below this share of the usual week is a drop
# Mailbox providers anyone can use: sharing one with a company's user says nothing.
FREEMAIL = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "hotmail.de",
        "live.com",
        "live.de",
        "yahoo.com",
        "yahoo.de",
        "icloud.com",
        "me.com",
        "aol.com",
        "gmx.de",
        "gmx.net",
        "gmx.at",
        "gmx.ch",
        "web.de",
        "t-online.de",
        "freenet.de",
        "posteo.de",
        "mailbox.org",
        "proton.me",
        "protonmail.com",
        "example.com",
        "example.net",
        "example.org",
    }
)


def network_hash(client_ip: str) -> str | None:
    """A keyed hash of the address's network (/24 or /48); None for something not an address."""
    try:
        address = ipaddress.ip_address(client_ip.strip())
    except ValueError:
        return None
    prefix = 24 if address.version == 4 else 48
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    return salted_hmac("moderation.network", str(network), algorithm="sha256").hexdigest()


@dataclass(frozen=True)
class Flag:
    kind: str
    explanation: str
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Screening:
    """The answer to ``review_screening``: why to hold, and what to record once saved."""

    flags: tuple[Flag, ...] = ()
    network_hash: str | None = None
    quick: bool = False

    @property
    def hold_reasons(self) -> tuple[str, ...]:
        return tuple(flag.kind for flag in self.flags)


def _domain(address: str) -> str:
    return address.rsplit("@", 1)[-1].strip().lower() if "@" in address else ""


def _evaluator_addresses(review: Review) -> set[str]:
    addresses = {review.dialogue_email, review.author_email}
    if review.invitation_id is not None:
        addresses.add(review.invitation.email)
    return {a.strip().lower() for a in addresses if a and "@" in a}


def _remembered(memo: dict, key: tuple, lookup):
    """``lookup()`` once per submission: its merchant and product reviews ask the same."""
    if key not in memo:
        memo[key] = lookup()
    return memo[key]


def _company_addresses(company_id: int) -> set[str]:
    rows = Membership.objects.for_company(company_id).values_list("user__email", flat=True)
    return {email.lower() for email in rows}


def _company_domains(review: Review, staff: set[str]) -> set[str]:
    domains = {_domain(email) for email in staff}
    website = Shop.objects.for_company(review.company_id).filter(pk=review.shop_id)
    for url in website.values_list("website", flat=True):
        host = (urlsplit(url).hostname or "").lower().removeprefix("www.")
        domains.add(host)
    return {d for d in domains if d and d not in FREEMAIL}


def _self_review(review: Review, memo: dict) -> list[Flag]:
    """AB-3: the company's own people reviewing the company (004 §6.8.4)."""
    evaluator = _evaluator_addresses(review)
    if not evaluator:
        return []
    staff = _remembered(
        memo, ("staff", review.company_id), lambda: _company_addresses(review.company_id)
    )
    if evaluator & staff:
        return [
            Flag(
                Kind.STAFF_EMAIL,
                "The evaluator's address belongs to a user of the company itself.",
            )
        ]
    domains = _remembered(
        memo, ("domains", review.shop_id), lambda: _company_domains(review, staff)
    )
    shared = {_domain(a) for a in evaluator} & domains
    if shared:
        return [
            Flag(
                Kind.COMPANY_DOMAIN,
                f"The evaluator writes from the company's own email domain ({sorted(shared)[0]}).",
                {"domain": sorted(shared)[0]},
            )
        ]
    return []


def _sighting_counts(review: Review, network: str | None, quick: bool, now) -> dict[str, int]:
    """One query for every network finding of a review (R23, AB-3, AB-4):

    - ``staff``: sightings of this network at the company's users' logins in the last
      ``STAFF_NETWORK_DAYS`` days;
    - ``network``: this shop's other reviews from this network within ``BURST_WINDOW``;
    - ``quick``: this shop's other quick reviews within ``BURST_WINDOW``.

    "Other" leaves out the review itself and the rest of its submission: one submission makes
    a merchant and several product reviews, and counts once.
    """
    recent = Q(
        source=NetworkSighting.Source.REVIEW,
        shop_id=review.shop_id,
        seen_at__gte=now - BURST_WINDOW,
    )
    if review.invitation_id is not None:
        recent &= ~Q(review__invitation_id=review.invitation_id)
    if review.pk is not None:
        recent &= ~Q(review_id=review.pk)
    wanted: dict[str, Q] = {}
    if network is not None:
        wanted["staff"] = Q(
            source=NetworkSighting.Source.STAFF,
            network_hash=network,
            seen_at__gte=now - datetime.timedelta(days=STAFF_NETWORK_DAYS),
        )
        wanted["network"] = recent & Q(network_hash=network)
    if quick:
        wanted["quick"] = recent & Q(quick=True)
    if not wanted:
        return {}
    either = Q()
    for condition in wanted.values():
        either |= condition
    return (
        NetworkSighting.objects.for_company(review.company_id)
        .filter(either)
        .aggregate(**{name: Count("pk", filter=condition) for name, condition in wanted.items()})
    )


def _network_flags(counts: dict[str, int]) -> list[Flag]:
    flags = []
    if counts.get("staff"):
        flags.append(
            Flag(
                Kind.SAME_IP_AS_STAFF,
                f"Submitted from a network the company's users signed in from in the last "
                f"{STAFF_NETWORK_DAYS} days.",
            )
        )
    if "network" in counts and counts["network"] + 1 >= BURST_REVIEWS:
        count = counts["network"] + 1
        flags.append(
            Flag(
                Kind.BURST_NETWORK,
                f"{count} reviews of this shop came from one network within an hour.",
                {"reviews_in_window": count},
            )
        )
    if "quick" in counts and counts["quick"] + 1 >= QUICK_BURST:
        count = counts["quick"] + 1
        flags.append(
            Flag(
                Kind.BURST_WINDOW,
                f"{count} reviews of this shop arrived within {QUICK_SECONDS} seconds of their "
                "invitation's creation in the last hour.",
                {"quick_reviews_in_window": count},
            )
        )
    return flags


def _is_quick(review: Review, now) -> bool:
    if review.invitation_id is None:
        return False
    return (now - review.invitation.created_at).total_seconds() < QUICK_SECONDS


def review_screen(
    sender,
    *,
    review: Review,
    now,
    client_ip: str | None = None,
    network: str | None = None,
    memo=None,
    **kwargs,
):
    """Receiver of ``review_screening``: the integrity holds of one review (never its stars).

    ``memo`` (one dict per submission, from ``review_decide``) keeps what the reviews of one
    submission share: the company's people and domains and the network and burst findings,
    which exclude the submission's own reviews and so are the same for each of them.
    """
    memo = {} if memo is None or review.invitation_id is None else memo
    if network is None and client_ip:
        network = network_hash(client_ip)
    quick = _is_quick(review, now)
    flags = _self_review(review, memo)
    counts = _remembered(
        memo,
        ("sightings", review.invitation_id, network, quick),
        lambda: _sighting_counts(review, network, quick, now),
    )
    flags += _network_flags(counts)
    return Screening(flags=tuple(flags), network_hash=network, quick=quick)


# --- Recording, after the review is saved -------------------------------------------------------


def signals_record(*, review: Review, flags: tuple[Flag, ...], held: bool) -> list[IntegritySignal]:
    """One open signal per kind and review; a second edit with the same sign adds nothing."""
    if not flags:
        return []
    open_kinds = set(
        IntegritySignal.objects.for_company(review.company_id)
        .filter(review=review, status=IntegritySignal.Status.OPEN)
        .values_list("kind", flat=True)
    )
    created = []
    for flag in flags:
        if flag.kind in open_kinds:
            continue
        open_kinds.add(flag.kind)
        created.append(
            IntegritySignal.objects.create(
                company_id=review.company_id,
                shop=review.shop,
                review=review,
                kind=flag.kind,
                explanation=flag.explanation,
                details=flag.details,
                held=held,
            )
        )
    return created


def incentive_flags(check: checks.TextCheck) -> tuple[Flag, ...]:
    if not any(f.rule == checks.INCENTIVE for f in check.findings):
        return ()
    return (
        Flag(
            Kind.INCENTIVE_WORDING,
            "The text mentions a benefit for the review (004 §6.8.1); the review is held.",
        ),
    )


def sighting_record(*, review: Review, screening: Screening, now, created: bool = False) -> None:
    """Where a merchant review came from (one per submission), as a keyed network hash."""
    if screening.network_hash is None or review.kind != Review.Kind.MERCHANT:
        return
    sightings = NetworkSighting.objects.for_company(review.company_id)
    if not created and sightings.filter(review=review).exists():
        return
    NetworkSighting.objects.create(
        company_id=review.company_id,
        shop=review.shop,
        review=review,
        source=NetworkSighting.Source.REVIEW,
        network_hash=screening.network_hash,
        quick=screening.quick,
        seen_at=now,
    )


def integrity_staff_login_record(*, user, client_ip: str, now=None) -> int:
    """A company user signed in: remember the network for each of their companies (AB-3)."""
    network = network_hash(client_ip or "")
    if network is None:
        return 0
    now = now or timezone.now()
    company_ids = set(
        # Deliberately cross-tenant: one login covers every company the user belongs to.
        Membership.objects.unscoped().filter(user=user).values_list("company_id", flat=True)
    )
    for company_id in company_ids:
        NetworkSighting.objects.create(
            company_id=company_id,
            source=NetworkSighting.Source.STAFF,
            network_hash=network,
            seen_at=now,
        )
    return len(company_ids)


def staff_logged_in(sender, request, user, **kwargs) -> None:
    """Receiver of ``user_logged_in``: company users' networks, for ``same_ip_as_staff``."""
    if request is None or user.is_staff:
        return
    integrity_staff_login_record(user=user, client_ip=request_client_ip(request))


# --- Daily: invitation coverage and order volume -----------------------------------------------


def _coverage_flag(shop_id: int, orders: int, invited: int, reasons: dict) -> Flag | None:
    if orders < COVERAGE_MIN_ORDERS or invited >= orders * COVERAGE_MIN_SHARE:
        return None
    return Flag(
        Kind.COVERAGE_GAP,
        f"Of {orders} orders in the last 30 days, {invited} got an invitation "
        f"({invited * 100 // orders} %). Every order must be invited (R8, 004 §6.5).",
        {"orders": orders, "invited": invited, "not_invited_by_reason": reasons},
    )


def _volume_flag(last_week: int, usual_week: float) -> Flag | None:
    if usual_week < VOLUME_MIN_WEEKLY or last_week >= usual_week * VOLUME_DROP_SHARE:
        return None
    return Flag(
        Kind.ORDER_VOLUME_DROP,
        f"{last_week} orders in the last 7 days against about {usual_week:.0f} a week in the "
        "four weeks before: orders may be held back from invitation.",
        {"last_week": last_week, "usual_week": round(usual_week, 1)},
    )


def _shop_flags(shop: Shop, now) -> list[Flag]:
    month = now - datetime.timedelta(days=30)
    orders = Order.objects.for_company(shop.company_id).filter(shop=shop)
    recent = orders.filter(ordered_at__gte=month)
    invitations = Invitation.objects.for_company(shop.company_id).filter(
        shop=shop, order__ordered_at__gte=month
    )
    invited = invitations.filter(Q(sent_at__isnull=False) | Q(status=Invitation.Status.RATED))
    reasons = dict(
        invitations.filter(status=Invitation.Status.SUPPRESSED)
        .values_list("suppression_reason")
        .annotate(n=Count("id"))
    )
    week = now - datetime.timedelta(days=7)
    last_week = recent.filter(ordered_at__gte=week).count()
    before = orders.filter(ordered_at__gte=week - datetime.timedelta(days=28), ordered_at__lt=week)
    flags = [
        _coverage_flag(shop.pk, recent.count(), invited.count(), reasons),
        _volume_flag(last_week, before.count() / 4),
    ]
    return [flag for flag in flags if flag is not None]


def integrity_coverage_scan(*, now=None) -> int:
    """Flag shops whose orders go uninvited or whose order volume suddenly drops. Safe to run
    twice: one signal per shop, kind and ISO week."""
    now = now or timezone.now()
    year, week, _day = now.isocalendar()
    created = 0
    # Deliberately cross-tenant: the daily scan covers every live shop.
    for shop in Shop.objects.unscoped().filter(went_live_at__isnull=False).iterator():
        for flag in _shop_flags(shop, now):
            try:
                with transaction.atomic():
                    IntegritySignal.objects.create(
                        company_id=shop.company_id,
                        shop=shop,
                        kind=flag.kind,
                        explanation=flag.explanation,
                        details=flag.details,
                        dedupe_key=f"{year}-W{week:02d}",
                    )
                created += 1
            except IntegrityError:
                continue  # already flagged this week
    return created


def integrity_signals_purge(*, now=None) -> int:
    """Retention (R23): network hashes and settled signals older than 90 days go."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=RETENTION_DAYS)
    # Deliberately cross-tenant: the retention sweep covers every company.
    sightings, _ = NetworkSighting.objects.unscoped().filter(seen_at__lt=cutoff).delete()
    signals, _ = (
        IntegritySignal.objects.unscoped()
        .filter(created_at__lt=cutoff)
        .exclude(status=IntegritySignal.Status.OPEN)
        .delete()
    )
    return sightings + signals
