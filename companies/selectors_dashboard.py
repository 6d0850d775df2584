"""Reads for the backend dashboard of one shop: seal, trend, stars, funnel, coverage (R24, R48).

Four set-based queries whatever the amount of data: the merchant seal status, one GROUP BY
month over the reviews of 24 months, one aggregate with filtered counts over the reviews, one
over the orders joined to their invitations. Nothing loops over months or rows with queries.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from companies.models import Shop
from guidance.selectors import NEGATIVE_MAX_STARS, TipFacts
from invitations.models import Invitation, Order
from reviews.models import Review
from seals import scoring
from seals.models import SealStatus
from seals.services import window_start

TREND_MONTHS = 24
COVERAGE_DAYS = 30  # the same period as moderation.integrity's coverage scan (R8)
RATE_DAYS = 30  # the response-rate tip compares the last 30 days with the 30 before (R48)

# Chart geometry (SVG user units); the SVG scales to the width of its container.
TREND_WIDTH, TREND_HEIGHT = 720, 260
TREND_LEFT, TREND_RIGHT, TREND_TOP, TREND_BOTTOM = 44, 680, 16, 212
STARS_WIDTH, STARS_ROW, STARS_LEFT, STARS_BAR = 360, 28, 40, 260


@dataclass(frozen=True)
class MonthPoint:
    month: datetime.date
    count: int
    average: Decimal | None
    x: float  # the bar's left edge
    bar_y: float
    bar_height: float
    average_y: float | None
    label: bool  # every third month carries a visible label
    center: float


@dataclass(frozen=True)
class TrendChart:
    points: list[MonthPoint]
    max_count: int
    bar_width: float
    line: str  # the polyline through the months that have an average
    width: int = TREND_WIDTH
    height: int = TREND_HEIGHT
    left: int = TREND_LEFT
    right: int = TREND_RIGHT
    top: int = TREND_TOP
    bottom: int = TREND_BOTTOM

    @property
    def star_lines(self) -> list[tuple[int, float]]:
        """Where 1 to 5 stars sit on the average's scale."""
        plot = TREND_BOTTOM - TREND_TOP
        return [(stars, round(TREND_BOTTOM - plot * (stars - 1) / 4, 1)) for stars in range(1, 6)]


@dataclass(frozen=True)
class StarRow:
    stars: int
    count: int
    share: int  # percent of the window's reviews, rounded down
    y: float
    width: float

    @property
    def label_x(self) -> float:
        return round(STARS_LEFT + self.width + 6, 1)


@dataclass(frozen=True)
class Funnel:
    orders: int
    invited: int
    sent: int
    reminded: int
    rated: int
    expired: int

    @property
    def response_rate(self) -> int | None:
        """Rated per sent invitation in percent, rounded down; None before the first one."""
        return self.rated * 100 // self.sent if self.sent else None


@dataclass(frozen=True)
class Coverage:
    orders: int
    invited: int

    @property
    def share(self) -> int | None:
        return self.invited * 100 // self.orders if self.orders else None


@dataclass(frozen=True)
class ShopDashboard:
    shop: Shop
    seal: SealStatus | None
    trend: TrendChart
    stars: list[StarRow]
    star_total: int
    funnel: Funnel
    coverage: Coverage
    tip_facts: TipFacts


def _month_start(moment: datetime.datetime) -> datetime.datetime:
    local = timezone.localtime(moment)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def trend_chart(rows: dict[datetime.date, tuple[int, int]], first: datetime.date) -> TrendChart:
    """Bars for the monthly count, a line for the monthly average on a 1-5 scale."""
    months = [first + relativedelta(months=i) for i in range(TREND_MONTHS)]
    max_count = max((rows.get(m, (0, 0))[0] for m in months), default=0)
    slot = (TREND_RIGHT - TREND_LEFT) / TREND_MONTHS
    plot = TREND_BOTTOM - TREND_TOP
    points = []
    for index, month in enumerate(months):
        count, total = rows.get(month, (0, 0))
        height = plot * count / max_count if max_count else 0
        average = scoring.displayed_average(count=count, total=total)
        y = TREND_BOTTOM - plot * (float(average) - 1) / 4 if average is not None else None
        x = TREND_LEFT + index * slot + slot * 0.15
        points.append(
            MonthPoint(
                month=month,
                count=count,
                average=average,
                x=round(x, 1),
                bar_y=round(TREND_BOTTOM - height, 1),
                bar_height=round(height, 1),
                average_y=round(y, 1) if y is not None else None,
                label=index % 3 == 0,
                center=round(x + slot * 0.35, 1),
            )
        )
    line = " ".join(f"{p.center},{p.average_y}" for p in points if p.average_y is not None)
    return TrendChart(points, max_count, round(slot * 0.7, 1), line)


def stars_chart(counts: dict[int, int]) -> tuple[list[StarRow], int]:
    total = sum(counts.values())
    biggest = max(counts.values(), default=0)
    rows = []
    for index, stars in enumerate(range(5, 0, -1)):
        count = counts.get(stars, 0)
        width = STARS_BAR * count / biggest if biggest else 0
        share = count * 100 // total if total else 0
        rows.append(StarRow(stars, count, share, 8 + index * STARS_ROW, round(width, 1)))
    return rows, total


def _trend_rows(reviews, since) -> dict[datetime.date, tuple[int, int]]:
    rows = (
        reviews.filter(submitted_at__gte=since)
        .annotate(month=TruncMonth("submitted_at"))
        .values("month")
        .annotate(n=Count("pk"), s=Sum("rating"))
        .order_by("month")
    )
    return {timezone.localtime(r["month"]).date(): (r["n"], r["s"]) for r in rows}


def _review_facts(reviews, *, window, next_window) -> dict:
    in_window = Q(submitted_at__gte=window)
    leaving = Q(submitted_at__gte=window, submitted_at__lt=next_window)
    return reviews.aggregate(
        **{f"stars_{n}": Count("pk", filter=in_window & Q(rating=n)) for n in range(1, 6)},
        negative=Count("pk", filter=Q(rating__lte=NEGATIVE_MAX_STARS)),
        leaving_count=Count("pk", filter=leaving),
        leaving_sum=Sum("rating", filter=leaving, default=0),
    )


def _order_facts(orders, *, window, now) -> dict:
    recent, month, previous = (
        Q(ordered_at__gte=window),
        now - datetime.timedelta(days=RATE_DAYS),
        now - datetime.timedelta(days=2 * RATE_DAYS),
    )
    covered_since = now - datetime.timedelta(days=COVERAGE_DAYS)
    rated = Q(invitation__used_at__isnull=False)
    sent_last = Q(invitation__sent_at__gte=month)
    sent_previous = Q(invitation__sent_at__gte=previous, invitation__sent_at__lt=month)
    return orders.aggregate(
        orders=Count("pk", filter=recent),
        invited=Count("invitation", filter=recent),
        sent=Count("pk", filter=recent & Q(invitation__sent_at__isnull=False)),
        reminded=Count("pk", filter=recent & Q(invitation__reminders_sent__gt=0)),
        rated=Count("pk", filter=recent & rated),
        expired=Count("pk", filter=recent & Q(invitation__status=Invitation.Status.EXPIRED)),
        coverage_orders=Count("pk", filter=Q(ordered_at__gte=covered_since)),
        # moderation.integrity's definition of "got an invitation": sent, or rated without one.
        coverage_invited=Count(
            "pk",
            filter=Q(ordered_at__gte=covered_since)
            & (Q(invitation__sent_at__isnull=False) | Q(invitation__status="rated")),
        ),
        sent_last=Count("pk", filter=sent_last),
        rated_last=Count("pk", filter=sent_last & rated),
        sent_previous=Count("pk", filter=sent_previous),
        rated_previous=Count("pk", filter=sent_previous & rated),
    )


def shop_dashboard(*, shop: Shop, now: datetime.datetime | None = None) -> ShopDashboard:
    """Everything the dashboard shows about ``shop`` in four queries.

    Reviews count as the seal counts them: published, transaction-based merchant reviews (R24);
    stars and the seal cover the 12-month window, the trend 24 calendar months, the funnel the
    orders of the 12-month window.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    window = window_start(today)
    first_month = _month_start(now) - relativedelta(months=TREND_MONTHS - 1)
    seal = (
        SealStatus.objects.for_company(shop.company_id)
        .filter(shop=shop, product__isnull=True)
        .first()
    )
    reviews = Review.objects.for_company(shop.company_id).filter(
        shop=shop,
        product__isnull=True,
        status=Review.Status.PUBLISHED,
        is_transaction_based=True,
    )
    trend = trend_chart(_trend_rows(reviews, first_month), first_month.date())
    facts = _review_facts(
        reviews, window=window, next_window=window_start(today + relativedelta(months=1))
    )
    stars, star_total = stars_chart({n: facts[f"stars_{n}"] for n in range(1, 6)})
    orders = _order_facts(
        Order.objects.for_company(shop.company_id).filter(shop=shop), window=window, now=now
    )
    funnel = Funnel(**{field: orders[field] for field in Funnel.__dataclass_fields__})
    coverage = Coverage(orders["coverage_orders"], orders["coverage_invited"])
    tip_facts = TipFacts(
        negative_reviews=facts["negative"],
        sent_last=orders["sent_last"],
        rated_last=orders["rated_last"],
        sent_previous=orders["sent_previous"],
        rated_previous=orders["rated_previous"],
        seal_tier=seal.tier if seal else scoring.STANDARD,
        seal_count=seal.review_count if seal else 0,
        seal_sum=seal.rating_sum if seal else 0,
        leaving_count=facts["leaving_count"],
        leaving_sum=facts["leaving_sum"],
    )
    return ShopDashboard(shop, seal, trend, stars, star_total, funnel, coverage, tip_facts)
