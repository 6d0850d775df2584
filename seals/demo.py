"""The demo tenant behind ``make run``: one company, two shops, 14 months of reviews.

``demo_seed`` is idempotent: the demo company is found again by its owner's email address and
then nothing is added. Content is deterministic (a fixed ``random.Random`` seed), placed
relative to ``now`` so that the seals come out the same whenever it runs: ``demo-outdoor``
earns gold (R25) from its last 12 months while older, weaker reviews have aged out of the
window (R24); ``demo-books`` has too few reviews for a tier and stays standard.

Rows are written with ``bulk_create`` so a fresh SQLite database is seeded in about a second.
``bulk_create`` skips ``save()``, so :func:`_insert` runs ``save()``'s tenant check itself:
SQLite has no composite foreign keys to catch a row that points into another company.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from companies.models import Company, Membership, Role, Shop, User
from companies.services import api_key_create, company_create, product_upsert, shop_create
from invitations import tokens
from invitations.models import Invitation, InvitationEmail, Order, OrderItem, link_expiry
from reviews.models import Review, ReviewVersion
from seals import scoring
from seals.models import SealStatus
from seals.services import seal_recompute, seals_recompute_all

DEMO_OWNER_EMAIL = "demo@example.com"
# A local demo login, printed by ``seed_demo`` on purpose; never a production credential.
DEMO_OWNER_PASSWORD = "demo-password-2026"  # noqa: S105
DEMO_COMPANY_NAME = "Demo Outdoor GmbH"
_SEED = 2026


class DemoError(RuntimeError):
    """The database holds something that is in the demo's way."""


@dataclass(frozen=True)
class DemoShop:
    slug: str
    name: str
    tier: str
    average: Decimal | None
    review_count: int
    interface_id: str
    # Secrets exist in plaintext only on the run that created them (R3).
    interface_password: str | None = None
    api_key: str | None = None


@dataclass(frozen=True)
class DemoResult:
    created: bool
    company_id: int
    company_name: str
    owner_email: str
    owner_password: str
    shops: tuple[DemoShop, ...]


# --- The plan ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductSpec:
    sku: str
    name: str
    brand: str
    gtin_body: str  # 12 digits; the check digit is computed


@dataclass(frozen=True)
class ShopPlan:
    slug: str
    name: str
    website: str
    order_prefix: str
    german_share: float  # share of orders (and so comments) in German
    category: str  # which product comments fit
    products: tuple[ProductSpec, ...]
    window_ratings: dict[int, int]  # stars -> count, submitted in the last 12 months
    old_ratings: dict[int, int]  # stars -> count, 12-14 months ago: outside the window
    non_transaction_ratings: tuple[int, ...]  # R14: shown, labelled, never counted
    unrated_recent: int  # invited, not rated yet: "sent"
    unrated_old: int  # invited more than six months ago, never rated: "expired"
    scheduled: int  # ordered in the last days: the invitation is not due yet
    suppressed: int  # ordered without consent (R6)
    product_review_share: float
    expected_tier: str


OUTDOOR = ShopPlan(
    slug="demo-outdoor",
    name="Demo Outdoor",
    website="https://outdoor.example.com",
    order_prefix="DO",
    german_share=0.6,
    category="outdoor",
    products=(
        ProductSpec("NK-TRAIL-GTX", "Trailhiker GTX Hiking Boots", "Nordkamm", "406123400011"),
        ProductSpec("BF-PACK-35", "Trekking Backpack 35 L", "Bergfalke", "406123400028"),
        ProductSpec("NK-DOWN-UL", "Ultralight Down Jacket", "Nordkamm", "406123400035"),
        ProductSpec("AG-TENT-2P", "Dome Tent for Two", "Alpenglut", "406123400042"),
        ProductSpec("BF-POLE-CB", "Carbon Trekking Poles (pair)", "Bergfalke", "406123400059"),
        ProductSpec("WW-BOTTLE-1L", "Stainless Steel Bottle 1 L", "Wildwasser", "406123400066"),
        ProductSpec("AG-BAG-M5", "Mummy Sleeping Bag -5 °C", "Alpenglut", "406123400073"),
        ProductSpec("WW-SOCK-MER", "Merino Hiking Socks, 2 pairs", "Wildwasser", "406123400080"),
    ),
    window_ratings={5: 62, 4: 8, 3: 2},
    old_ratings={5: 3, 3: 3, 2: 2, 1: 2},
    non_transaction_ratings=(5, 3),
    unrated_recent=14,
    unrated_old=8,
    scheduled=5,
    suppressed=2,
    product_review_share=0.35,
    expected_tier=scoring.GOLD,
)

BOOKS = ShopPlan(
    slug="demo-books",
    name="Demo Books",
    website="https://books.example.com",
    order_prefix="DB",
    german_share=0.8,
    category="books",
    products=(
        ProductSpec("B-ALPEN", "Wege über die Alpen", "Verlag Bergblick", "978300012345"),
        ProductSpec("B-ORCHARD", "The Quiet Orchard", "Harbour Lane Press", "978300023456"),
        ProductSpec("B-KOCHEN", "Kochen mit Kindern", "Küchenbuch Verlag", "978300034567"),
        ProductSpec("B-MAPS", "A Short History of Maps", "Harbour Lane Press", "978300045678"),
        ProductSpec("B-STERNE", "Sternenhimmel für Einsteiger", "Verlag Bergblick", "978300056789"),
        ProductSpec("B-LIGHT", "The Lighthouse Keeper's Daughter", "Northbound", "978300067890"),
        ProductSpec("B-GARTEN", "Gärtnern auf kleinem Raum", "Küchenbuch Verlag", "978300078901"),
        ProductSpec("B-RIVER", "Rivers of Europe", "Northbound", "978300089012"),
    ),
    window_ratings={5: 14, 4: 8, 3: 4, 2: 2, 1: 2},
    old_ratings={5: 2, 2: 2},
    non_transaction_ratings=(),
    unrated_recent=8,
    unrated_old=4,
    scheduled=3,
    suppressed=1,
    product_review_share=0.4,
    expected_tier=scoring.STANDARD,
)

PLANS = (OUTDOOR, BOOKS)

MERCHANT_COMMENTS = {
    "en": {
        5: (
            "Fast delivery and everything exactly as described.",
            "Ordered on Sunday, it arrived on Tuesday. Well packed.",
            "Friendly customer service answered my question within an hour.",
            "Great selection and fair prices, I will order again.",
            "Smooth from checkout to delivery. Highly recommended.",
            "Exchanged a size without any hassle, the new one came two days later.",
            "Clear product information and quick shipping.",
            "Tracking worked perfectly and the parcel came on the announced day.",
        ),
        4: (
            "Good shop, delivery took a day longer than expected.",
            "All fine, only the packaging was a bit oversized.",
            "Quick delivery; the invoice came separately by email.",
            "Good service, though the website is slow on my phone.",
            "Happy overall, I would like more payment options.",
        ),
        3: (
            "The order was fine, but delivery took over a week.",
            "Customer service was friendly but slow to reply.",
            "One item was missing and was sent on later.",
        ),
        2: (
            "Delivery was late and the tracking never updated.",
            "The parcel arrived damaged; the replacement took two weeks.",
        ),
        1: (
            "Waited three weeks and cancelled in the end.",
            "No answer to my emails for days.",
        ),
    },
    "de": {
        5: (
            "Schnelle Lieferung, alles wie beschrieben.",
            "Sonntag bestellt, Dienstag geliefert. Sehr gut verpackt.",
            "Der Kundenservice hat meine Frage innerhalb einer Stunde beantwortet.",
            "Tolle Auswahl und faire Preise, ich bestelle gerne wieder.",
            "Von der Bestellung bis zur Lieferung alles reibungslos. Absolut empfehlenswert!",
            "Umtausch in eine andere Größe problemlos, Ersatz kam nach zwei Tagen.",
            "Übersichtlicher Shop, schneller Versand.",
            "Sendungsverfolgung hat perfekt geklappt, Paket kam am angekündigten Tag.",
        ),
        4: (
            "Guter Shop, die Lieferung hat einen Tag länger gedauert als angegeben.",
            "Alles bestens, nur der Karton war viel zu groß.",
            "Schnelle Lieferung, die Rechnung kam separat per E-Mail.",
            "Guter Service, die Website ist auf dem Handy etwas langsam.",
            "Insgesamt zufrieden, mehr Zahlungsarten wären schön.",
        ),
        3: (
            "Bestellung in Ordnung, aber die Lieferung dauerte über eine Woche.",
            "Kundenservice freundlich, aber die Antwort kam spät.",
            "Ein Artikel fehlte und wurde nachgeliefert.",
        ),
        2: (
            "Lieferung verspätet, die Sendungsverfolgung wurde nie aktualisiert.",
            "Paket kam beschädigt an, der Ersatz dauerte zwei Wochen.",
        ),
        1: (
            "Drei Wochen gewartet und am Ende storniert.",
            "Tagelang keine Antwort auf meine E-Mails.",
        ),
    },
}

PRODUCT_COMMENTS = {
    ("outdoor", "en"): {
        "good": (
            "Light, sturdy and well made.",
            "Survived a rainy week in the Alps without a scratch.",
            "Fits true to size, comfortable from the first day.",
            "Great value for the quality.",
        ),
        "mixed": ("Does the job, but heavier than I expected.", "Quality is fine, colour differs."),
        "poor": ("A seam came loose after two hikes.",),
    },
    ("outdoor", "de"): {
        "good": (
            "Leicht, robust und sauber verarbeitet.",
            "Hat eine verregnete Woche in den Alpen ohne Kratzer überstanden.",
            "Passt wie angegeben, vom ersten Tag an bequem.",
            "Preis-Leistung stimmt.",
        ),
        "mixed": ("Erfüllt seinen Zweck, ist aber schwerer als gedacht.", "Farbe weicht ab."),
        "poor": ("Nach zwei Touren hat sich eine Naht gelöst.",),
    },
    ("books", "en"): {
        "good": (
            "Beautifully printed, a pleasure to read.",
            "Read it in one weekend. Wonderful.",
            "A perfect gift, arrived in mint condition.",
        ),
        "mixed": ("Interesting, but the second half drags.", "The binding feels cheap."),
        "poor": ("Pages were bent on arrival.",),
    },
    ("books", "de"): {
        "good": (
            "Wunderschön gedruckt, liest sich wunderbar.",
            "An einem Wochenende ausgelesen. Großartig.",
            "Ein perfektes Geschenk, kam in einwandfreiem Zustand.",
        ),
        "mixed": ("Interessant, aber die zweite Hälfte zieht sich.", "Die Bindung wirkt billig."),
        "poor": ("Die Seiten waren bei Ankunft geknickt.",),
    },
}

OPENERS = {
    "en": ("", "", "", "Top!", "Very happy.", "Thank you!", "Recommended.", "Great shop."),
    "de": ("", "", "", "Top!", "Sehr zufrieden.", "Danke!", "Empfehlenswert.", "Super Shop."),
}

FIRST_NAMES = {
    "de": ("Anna", "Lukas", "Lea", "Jonas", "Marie", "Felix", "Sophie", "Paul", "Laura", "Max"),
    "en": ("Emma", "Oliver", "Grace", "James", "Chloe", "Daniel", "Amelia", "Harry"),
}
LAST_NAMES = {
    "de": ("Schneider", "Fischer", "Weber", "Wagner", "Becker", "Hoffmann", "Koch", "Richter"),
    "en": ("Smith", "Taylor", "Brown", "Wilson", "Clarke", "Evans", "Hughes"),
}

RATED, SENT, SCHEDULED, SUPPRESSED = "rated", "sent", "scheduled", "suppressed"


def gtin13(body: str) -> str:
    """``body`` (12 digits) plus its GS1 check digit (weights 1, 3, 1, … from the left)."""
    total = sum(int(digit) * (3 if index % 2 else 1) for index, digit in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _expand(counts: dict[int, int]) -> list[int]:
    return [stars for stars, count in sorted(counts.items()) for _ in range(count)]


def _check_plan(plan: ShopPlan) -> None:
    """The demo promises its tiers; an edited plan that breaks the promise fails loudly."""
    ratings = _expand(plan.window_ratings)
    tier = scoring.tier_for(count=len(ratings), total=sum(ratings))
    if tier != plan.expected_tier:
        raise DemoError(f"{plan.slug}: the planned reviews give {tier}, not {plan.expected_tier}")


# --- Entry point ------------------------------------------------------------------------------


def demo_seed(*, now: datetime.datetime | None = None) -> DemoResult:
    """Create the demo company once; on later runs return what exists and refresh its seals."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    with transaction.atomic():
        company = _existing_demo_company()
        created = company is None
        if created:
            company, shown_once = _create_demo(now=now)
            seals_recompute_all(today=today)
        else:
            shown_once = {}
            for shop in _demo_shops(company):
                # Reviews age out of the window; keep the re-run's "Status as of" current (R26).
                seal_recompute(shop_id=shop.pk, today=today)
        shops = tuple(_demo_shop(shop, shown_once.get(shop.slug)) for shop in _demo_shops(company))
    return DemoResult(
        created=created,
        company_id=company.pk,
        company_name=company.name,
        owner_email=DEMO_OWNER_EMAIL,
        owner_password=DEMO_OWNER_PASSWORD,
        shops=shops,
    )


def _demo_shops(company: Company) -> list[Shop]:
    slugs = [plan.slug for plan in PLANS]
    shops = Shop.objects.for_company(company).filter(slug__in=slugs)
    return sorted(shops, key=lambda shop: slugs.index(shop.slug))


def _existing_demo_company() -> Company | None:
    owner = User.objects.filter(email=DEMO_OWNER_EMAIL).first()
    if owner is None:
        return None
    # Deliberately cross-tenant: the owner's membership is how we find the demo tenant.
    membership = (
        Membership.objects.unscoped()
        .select_related("company")
        .filter(user=owner, role=Role.OWNER, company__name=DEMO_COMPANY_NAME)
        .first()
    )
    if membership is None:
        raise DemoError(f"{DEMO_OWNER_EMAIL} exists but does not own {DEMO_COMPANY_NAME!r}.")
    return membership.company


def _demo_shop(shop: Shop, secrets: tuple[str, str] | None) -> DemoShop:
    seal = SealStatus.objects.for_company(shop.company_id).get(shop=shop, product__isnull=True)
    interface_password, api_key = secrets or (None, None)
    return DemoShop(
        slug=shop.slug,
        name=shop.name,
        tier=seal.tier,
        average=seal.average,
        review_count=seal.review_count,
        interface_id=shop.interface_id,
        interface_password=interface_password,
        api_key=api_key,
    )


def _create_demo(*, now: datetime.datetime) -> tuple[Company, dict[str, tuple[str, str]]]:
    for plan in PLANS:
        _check_plan(plan)
    new = company_create(
        name=DEMO_COMPANY_NAME,
        shop_name=OUTDOOR.name,
        shop_slug=OUTDOOR.slug,
        owner_email=DEMO_OWNER_EMAIL,
        owner_password=DEMO_OWNER_PASSWORD,
        owner_first_name="Dana",
        owner_last_name="Demo",
    )
    company = new.company
    company.street, company.postal_code, company.city = "Bergstraße 12", "80331", "München"
    company.vat_id = "DE123456789"
    company.save(update_fields=["street", "postal_code", "city", "vat_id", "updated_at"])
    books, books_password = shop_create(company=company, name=BOOKS.name, slug=BOOKS.slug)
    _key, books_api_key = api_key_create(shop=books, name="default", created_by=new.owner)
    rng = random.Random(_SEED)  # noqa: S311 (demo content, not a secret)
    live_since = min(
        _populate(shop=shop, plan=plan, now=now, rng=rng)
        for shop, plan in ((new.shop, OUTDOOR), (books, BOOKS))
    )
    # Company is not a tenant row; date it to before its first shop went live.
    Company.objects.filter(pk=company.pk).update(created_at=live_since - relativedelta(months=1))
    shown_once = {
        OUTDOOR.slug: (new.interface_password, new.api_key),
        BOOKS.slug: (books_password, books_api_key),
    }
    return company, shown_once


# --- Orders, invitations, reviews -------------------------------------------------------------


@dataclass
class _OrderPlan:
    ordered_at: datetime.datetime
    outcome: str
    locale: str
    rating: int | None = None
    submitted_at: datetime.datetime | None = None
    order: Order | None = None
    items: list[OrderItem] = field(default_factory=list)
    invitation: Invitation | None = None


def _populate(
    *, shop: Shop, plan: ShopPlan, now: datetime.datetime, rng: random.Random
) -> datetime.datetime:
    """The shop's catalogue, orders, invitations and reviews; returns when it went live."""
    products = [
        product_upsert(
            shop=shop,
            product_id=spec.sku,
            name=spec.name,
            brand=spec.brand,
            gtin=gtin13(spec.gtin_body),
            sku=spec.sku,
            link=f"{plan.website}/p/{spec.sku.lower()}",
        )[0]
        for spec in plan.products
    ]
    orders = _order_plans(plan, now=now, rng=rng)
    _insert_orders(shop, plan, orders, products, now=now, rng=rng)
    _insert_invitations(shop, orders, now=now, rng=rng)
    _insert_reviews(shop, plan, orders, now=now, rng=rng)
    went_live_at = orders[0].ordered_at
    Shop.objects.for_company(shop.company_id).filter(pk=shop.pk).update(
        website=plan.website,
        default_locale="de",
        non_transaction_reviews_enabled=bool(plan.non_transaction_ratings),
        went_live_at=went_live_at,  # R32: the first order
        created_at=went_live_at - datetime.timedelta(days=14),
    )
    return went_live_at


def _days_ago(now: datetime.datetime, rng: random.Random, low: float, high: float):
    return now - datetime.timedelta(days=rng.uniform(low, high))


def _order_plans(plan: ShopPlan, *, now: datetime.datetime, rng: random.Random):
    """Every order of the shop, oldest first. Day ranges keep clear of the window's edge."""
    orders: list[_OrderPlan] = []

    def add(outcome: str, low: float, high: float, rating: int | None = None) -> None:
        locale = "de" if rng.random() < plan.german_share else "en"
        if rating is None:
            orders.append(_OrderPlan(_days_ago(now, rng, low, high), outcome, locale))
            return
        submitted_at = _days_ago(now, rng, low, high)
        ordered_at = submitted_at - datetime.timedelta(days=rng.uniform(8, 16))
        orders.append(_OrderPlan(ordered_at, outcome, locale, rating, submitted_at))

    for rating in rng.sample(_expand(plan.window_ratings), k=sum(plan.window_ratings.values())):
        add(RATED, 1, 350, rating)  # inside the 12-month window (R24)
    for rating in _expand(plan.old_ratings):
        add(RATED, 372, 410, rating)  # aged out of the window, still published
    for outcome, count, low, high in (
        (SENT, plan.unrated_recent, 9, 170),
        (SENT, plan.unrated_old, 200, 420),
        (SCHEDULED, plan.scheduled, 0.2, 6),
        (SUPPRESSED, plan.suppressed, 9, 120),
    ):
        for _ in range(count):
            add(outcome, low, high)
    orders.sort(key=lambda o: o.ordered_at)
    return orders


def _insert_orders(shop, plan, orders: Sequence[_OrderPlan], products, *, now, rng) -> None:
    for number, entry in enumerate(orders, start=10001):
        delivered_at = entry.ordered_at + datetime.timedelta(days=rng.uniform(1.5, 4))
        entry.order = Order(
            company_id=shop.company_id,
            shop=shop,
            order_id=f"{plan.order_prefix}-{entry.ordered_at.year}-{number}",
            ordered_at=entry.ordered_at,
            delivered_at=delivered_at if delivered_at < now else None,
            locale=entry.locale,
            consent=entry.outcome != SUPPRESSED,
        )
    _insert(Order, shop, [(e.order, e.ordered_at, e.ordered_at) for e in orders])
    items = []
    for entry in orders:
        for product in rng.sample(products, k=rng.choice((1, 1, 1, 2, 2, 3))):
            item = OrderItem(
                company_id=shop.company_id, shop=shop, order=entry.order, product=product
            )
            entry.items.append(item)
            items.append((item, entry.ordered_at, entry.ordered_at))
    _insert(OrderItem, shop, items)


def _insert_invitations(shop, orders: Sequence[_OrderPlan], *, now, rng) -> None:
    rows, emails = [], []
    for number, entry in enumerate(orders):
        invitation, touched_at = _invitation(shop, entry, number=number, now=now, rng=rng)
        entry.invitation = invitation
        rows.append((invitation, invitation.created_at, touched_at))
        emails.extend(_emails(shop, invitation, reminder_interval=shop.reminder_interval_days))
    _insert(Invitation, shop, rows)
    _insert(InvitationEmail, shop, emails)


def _invitation(shop, entry: _OrderPlan, *, number: int, now, rng):
    """The invitation as the sender, the expiry sweep and the retention sweep left it."""
    created_at = entry.ordered_at  # orders are pushed when placed
    due_at = created_at + datetime.timedelta(days=shop.invitation_delay_days)  # R7
    first, last = rng.choice(FIRST_NAMES[entry.locale]), rng.choice(LAST_NAMES[entry.locale])
    # R9: only the nonce and the token's hash are stored; the link is derived when it is sent.
    token_nonce, token_hash = tokens.mint()
    invitation = Invitation(
        company_id=shop.company_id,
        shop=shop,
        order=entry.order,
        token_nonce=token_nonce,
        token_hash=token_hash,
        email=f"{first}.{last}.{number}@example.net".lower(),
        first_name=first,
        last_name=last,
        status=Invitation.Status.SCHEDULED,
        due_at=due_at,
        created_at=created_at,
        expires_at=link_expiry(created_at),  # save() would compute it; bulk_create does not
    )
    if entry.outcome == SUPPRESSED:
        invitation.status = Invitation.Status.SUPPRESSED
        invitation.suppression_reason = Invitation.SuppressionReason.NO_CONSENT  # R6
    elif entry.outcome in (SENT, RATED):
        _mark_sent(invitation, shop, entry, now=now, rng=rng)
    if invitation.expires_at <= now:  # R9: the hourly sweep disables every link after 6 months
        invitation.status = Invitation.Status.EXPIRED
        invitation.suppression_reason = Invitation.SuppressionReason.NONE  # only when suppressed
    _erase_if_past_retention(invitation, now=now)
    touched = [created_at, invitation.sent_at, invitation.used_at]
    return invitation, max(t for t in touched if t is not None and t <= now)


def _mark_sent(invitation: Invitation, shop: Shop, entry: _OrderPlan, *, now, rng) -> None:
    invitation.sent_at = invitation.due_at + datetime.timedelta(minutes=rng.randint(1, 30))
    invitation.send_attempts = 1
    reminder_at = invitation.sent_at + datetime.timedelta(days=shop.reminder_interval_days)
    stopped_at = entry.submitted_at or now
    if reminder_at < stopped_at:
        invitation.reminders_sent = 1  # R7: the one reminder went out before the rating
    elif entry.outcome == SENT:
        invitation.next_reminder_at = reminder_at
    invitation.status = Invitation.Status.SENT
    if entry.outcome == RATED:
        invitation.status = Invitation.Status.RATED
        invitation.used_at = entry.submitted_at


def _erase_if_past_retention(invitation: Invitation, *, now) -> None:
    """R11: name and email go 30 days after the link expired or was used."""
    retention = datetime.timedelta(days=settings.PERSONAL_DATA_RETENTION_DAYS)
    ends = [t for t in (invitation.expires_at, invitation.used_at) if t is not None]
    erased_at = min(ends) + retention
    if erased_at <= now:
        invitation.email = invitation.first_name = invitation.last_name = ""
        invitation.personal_data_erased_at = erased_at


def _emails(shop: Shop, invitation: Invitation, *, reminder_interval: int):
    """The send history: one row per email that went out, as the sender stamped it."""
    if invitation.sent_at is None:
        return []
    sends = [(InvitationEmail.Kind.INVITATION, invitation.sent_at)]
    if invitation.reminders_sent:
        reminded_at = invitation.sent_at + datetime.timedelta(days=reminder_interval)
        sends.append((InvitationEmail.Kind.REMINDER_1, reminded_at))
    return [
        (
            InvitationEmail(
                company_id=shop.company_id,
                shop=shop,
                invitation=invitation,
                kind=kind,
                status=InvitationEmail.Status.SENT,
                message_id=f"<invitation-{invitation.public_id}-{kind.value}@demo.local>",
                attempts=1,
                sent_at=sent_at,
            ),
            sent_at,
            sent_at,
        )
        for kind, sent_at in sends
    ]


def _insert_reviews(shop, plan: ShopPlan, orders: Sequence[_OrderPlan], *, now, rng) -> None:
    reviews = []
    for entry in orders:
        if entry.outcome != RATED:
            continue
        comment = _merchant_comment(entry.rating, entry.locale, rng=rng)
        review = _review(shop, entry.rating, entry.submitted_at, comment, rng=rng)
        review.invitation = entry.invitation
        reviews.append(review)
        if rng.random() < plan.product_review_share:
            reviews.extend(_product_reviews(shop, plan, entry, rng=rng))
    for stars in plan.non_transaction_ratings:  # R14: written on the certificate page
        comment = _merchant_comment(stars, "de", rng=rng)
        review = _review(shop, stars, _days_ago(now, rng, 5, 60), comment, rng=rng)
        review.is_transaction_based = False
        reviews.append(review)
    _insert(Review, shop, [(r, r.submitted_at, r.published_at) for r in reviews])
    versions = [
        ReviewVersion(
            company_id=shop.company_id,
            shop=shop,
            review=review,
            version=1,
            rating=review.rating,
            comment=review.comment,
        )
        for review in reviews
    ]
    _insert(
        ReviewVersion, shop, [(v, v.review.submitted_at, v.review.submitted_at) for v in versions]
    )


def _merchant_comment(stars: int, locale: str, *, rng) -> str:
    sentences = rng.sample(MERCHANT_COMMENTS[locale][stars], k=rng.choice((1, 1, 2)))
    if stars >= 4:
        sentences.insert(0, rng.choice(OPENERS[locale]))
    return " ".join(sentence for sentence in sentences if sentence)


def _review(shop: Shop, stars: int, submitted_at, comment: str, *, rng) -> Review:
    """A published merchant review; callers turn it into a product or untransacted one."""
    return Review(
        company_id=shop.company_id,
        shop=shop,
        kind=Review.Kind.MERCHANT,
        rating=stars,
        comment=comment,
        status=Review.Status.PUBLISHED,  # R17: nothing indicated a violation
        submitted_at=submitted_at,
        published_at=submitted_at + datetime.timedelta(seconds=rng.randint(2, 40)),
    )


def _product_reviews(shop, plan: ShopPlan, entry: _OrderPlan, *, rng) -> list[Review]:
    """R13: one review per product of the order, here for the first one or two of them."""
    reviews = []
    for item in entry.items[: rng.choice((1, 2))]:
        stars = max(1, min(5, entry.rating + rng.choice((0, 0, 0, 1, -1))))
        band = "good" if stars >= 4 else "mixed" if stars == 3 else "poor"
        comment = rng.choice(PRODUCT_COMMENTS[(plan.category, entry.locale)][band])
        review = _review(shop, stars, entry.submitted_at, comment, rng=rng)
        review.kind, review.product = Review.Kind.PRODUCT, item.product
        review.invitation = entry.invitation
        reviews.append(review)
    return reviews


def _insert(model, shop: Shop, rows: Iterable[tuple]) -> None:
    """Bulk-insert ``(row, created_at, updated_at)`` of one shop, dated as they happened."""
    rows = list(rows)
    objects = [row for row, _created, _updated in rows]
    for row in objects:
        row.check_same_company()  # what save() checks; bulk_create skips save()
    queryset = model.objects.for_company(shop.company_id)
    queryset.bulk_create(objects)
    # auto_now_add stamped every row with today; bulk_update writes the real dates as given.
    for row, created_at, updated_at in rows:
        row.created_at, row.updated_at = created_at, updated_at
    queryset.bulk_update(objects, ["created_at", "updated_at"], batch_size=500)
