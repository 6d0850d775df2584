"""A rating link's first submission in two steps: stored at once, screened by a worker (R13, R17).

``review_receive`` is what the rating page's POST does: one SQL statement checks the link
(valid, its shop open for ratings, nothing submitted yet), marks the invitation rated and stores
the merchant review and one per product of the order (R13) as ``pending`` ("awaiting check")
with their first version. A pending review holds no text of its own (the text is in its version
until it is checked), is never public and never counts. The screening is queued
(``screening_queue``): the submission joins a list beside the broker's queues, and a worker
takes the list in batches (``reviews.screen_waiting_submissions``). A submission that finds the
list empty, or a batch more in it, publishes that task: under load one message serves a batch of
submissions, where a message each cost the request more than storing the reviews (bench: rating
submissions).

``review_screen_submission`` is what the worker runs for each submission: the same single
decision point as every other text (``review_decide``, R17): the automatic check of the text and
the integrity screening (R23), at the submission's own time, then publish or hold and announce
the change (R26). It reads the pending reviews under a row lock and changes nothing when there
are none, so it is safe to run twice; ``reviews_screen_overdue`` is the backstop for a message
that was lost (or a list nobody was woken for).

Publication does not wait for a person and never depends on the stars (R17): a clean review is
public as soon as a worker has taken the message, in practice well under a second.
"""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnavailable
from redis.exceptions import RedisError

from companies.models import Company
from companies.tenancy import tenant_scope
from invitations.models import Invitation
from reviews.models import Review, ReviewMedia, ReviewVersion
from reviews.services import (
    AlreadySubmitted,
    LinkNotUsable,
    Submission,
    _announce,
    _attach_media,
    clean_display_text,
    review_decide,
    submitted_from,
)

logger = logging.getLogger(__name__)

# Screened by the backstop when still pending this long after submission.
OVERDUE_AFTER = datetime.timedelta(minutes=2)
# Waiting submissions a worker takes from the list at a time.
SCREENING_BATCH = 50

_RECEIVE_SQL = """
WITH link AS (
    UPDATE invitations_invitation AS i
       SET status = %(rated)s, used_at = %(now)s, updated_at = %(now)s
      FROM companies_shop AS s, companies_company AS c
     WHERE i.id = %(invitation)s AND s.id = i.shop_id AND c.id = s.company_id
       AND i.expires_at > %(now)s AND i.status <> %(expired)s
       AND NOT s.ratings_stopped AND NOT s.public_pages_disabled AND c.status = %(active)s
       AND NOT EXISTS (SELECT 1 FROM reviews_review AS r WHERE r.invitation_id = i.id)
 RETURNING i.id, i.company_id, i.shop_id,
           ARRAY(SELECT item.product_id FROM invitations_orderitem AS item
                  WHERE item.order_id = i.order_id) AS items
), wanted AS (
    SELECT * FROM unnest(%(kinds)s::varchar[], %(products)s::bigint[], %(ratings)s::int[],
                         %(comments)s::text[]) WITH ORDINALITY AS w(kind, product_id, rating,
                                                                   comment, n)
), stored AS (
    INSERT INTO reviews_review (company_id, created_at, updated_at, shop_id, kind, product_id,
                                invitation_id, is_transaction_based, rating, comment,
                                display_name, dialogue_email, author_email, status, public_id,
                                version, submitted_at)
    SELECT link.company_id, %(now)s, %(now)s, link.shop_id, w.kind, w.product_id, link.id, true,
           w.rating, '', %(display_name)s,
           CASE WHEN w.kind = %(merchant)s THEN %(dialogue_email)s ELSE '' END, '', %(pending)s,
           gen_random_uuid(), 1, %(now)s
      FROM link CROSS JOIN wanted AS w
     WHERE w.kind = %(merchant)s OR w.product_id = ANY (link.items)
     ORDER BY w.n
 RETURNING id, company_id, shop_id, product_id, rating
)
INSERT INTO reviews_reviewversion (company_id, created_at, updated_at, shop_id, review_id,
                                   version, rating, comment, edited_by_id)
SELECT stored.company_id, %(now)s, %(now)s, stored.shop_id, stored.id, 1, stored.rating,
       w.comment, NULL
  FROM stored JOIN wanted AS w ON w.product_id IS NOT DISTINCT FROM stored.product_id
RETURNING review_id
"""


# The statement's lookups are all by key, so one plan fits every submission; left to decide,
# Postgres re-plans it on every call (half of its time: bench, rating submissions).
_GENERIC_PLAN_SQL = "SET LOCAL plan_cache_mode = force_generic_plan"


def _network(client_ip: str | None) -> str | None:
    from moderation.integrity import network_hash  # the keyed hash the screening compares

    return network_hash(client_ip) if client_ip else None


def _refusal(invitation_id: int, now) -> Exception:
    """Why a link took nothing: already used (AU-3) or no longer open (R9, R30)."""
    invitation = (
        Invitation.objects.unscoped()  # the id comes from the signed review session
        .select_related("shop", "shop__company")
        .get(pk=invitation_id)
    )
    if now >= invitation.expires_at or invitation.status == Invitation.Status.EXPIRED:
        return LinkNotUsable("expired")
    if invitation.shop.ratings_stopped or not invitation.shop.is_public:
        return LinkNotUsable("ratings stopped")
    return AlreadySubmitted()


def review_receive(
    *,
    invitation_id: int,
    submission: Submission,
    client_ip: str | None = None,
    queue: bool = True,
) -> str | None:
    """Store a first submission as pending reviews and (``queue``) queue their screening.

    Raises ``AlreadySubmitted`` or ``LinkNotUsable`` and stores nothing when the link cannot
    take it. Returns the keyed hash of the client's network, which the screening compares.
    """
    now = timezone.now()
    wanted = [(Review.Kind.MERCHANT, None, submission.merchant)] + [
        (Review.Kind.PRODUCT, product_id, rating)
        for product_id, rating in sorted(submission.products.items())
    ]
    params = {
        "invitation": invitation_id,
        "now": now,
        "rated": Invitation.Status.RATED,
        "expired": Invitation.Status.EXPIRED,
        "active": Company.Status.ACTIVE,
        "merchant": Review.Kind.MERCHANT,
        "pending": Review.Status.PENDING,
        "kinds": [kind for kind, _, _ in wanted],
        "products": [product_id for _, product_id, _ in wanted],
        "ratings": [rating.rating for _, _, rating in wanted],
        "comments": [rating.comment.strip() for _, _, rating in wanted],
        "display_name": clean_display_text(submission.display_name)[:60],
        "dialogue_email": submission.dialogue_email,
    }
    network = _network(client_ip)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(_GENERIC_PLAN_SQL)
            cursor.execute(_RECEIVE_SQL, params)
            stored = [row[0] for row in cursor.fetchall()]
            if stored and submission.media:
                merchant = (
                    Review.objects.unscoped().select_related("shop").filter(pk__in=stored)
                ).get(kind=Review.Kind.MERCHANT)
                _attach_media(merchant, submission.media)
    except IntegrityError as exc:  # a concurrent submission of the same link won the race
        raise AlreadySubmitted() from exc
    if not stored:
        raise _refusal(invitation_id, now)
    if queue:
        transaction.on_commit(lambda: screening_queue(invitation_id, network))
    return network


def screening_queue(invitation_id: int, network: str | None) -> None:
    """Queue the screening of a stored submission (R17).

    With a Redis broker the submission joins the broker's list of waiting submissions (one
    command), and only a submission that finds the list empty (or a batch more in it) publishes
    a task to work through it (``reviews_screen_waiting``). With another broker each submission
    publishes its own message. Without a reachable broker the screening runs here, as the
    submission used to.
    """
    from ekomi.broker import redis_client
    from reviews.tasks import screen_submission, screen_waiting_submissions

    client = redis_client()
    if client is None:
        _publish(screen_submission, [invitation_id, network], invitation_id, network)
        return
    try:
        waiting = client.rpush(settings.REVIEW_SCREENING_LIST, f"{invitation_id} {network or ''}")
    except RedisError:
        logger.warning("screening of invitation %s runs inline: no broker", invitation_id)
        review_screen_submission(invitation_id=invitation_id, network=network)
        return
    if waiting % SCREENING_BATCH == 1:  # the list was empty, or a batch more came: wake one
        _publish(screen_waiting_submissions, [], None, None)


def _publish(task, args: list, invitation_id: int | None, network: str | None) -> None:
    try:
        task.apply_async(args=args, retry=False)
    except BrokerUnavailable:
        if invitation_id is None:
            logger.warning("waiting submissions are screened inline: no broker")
            reviews_screen_waiting()
        else:
            logger.warning("screening of invitation %s runs inline: no broker", invitation_id)
            review_screen_submission(invitation_id=invitation_id, network=network)


def reviews_screen_waiting(*, batch: int = SCREENING_BATCH) -> int:
    """Screen the submissions waiting in the broker's list, oldest first, until it is empty.

    Takes ``batch`` at a time; a full batch first wakes another worker for the rest, so a burst
    is shared. A submission whose screening fails stays pending and the overdue backstop
    decides it (as it does everything taken from the list by a worker that died). Returns how
    many submissions it decided.
    """
    from ekomi.broker import redis_client
    from reviews.tasks import screen_waiting_submissions

    client = redis_client()
    if client is None:
        return 0
    done = 0
    while items := client.lpop(settings.REVIEW_SCREENING_LIST, batch):
        if len(items) == batch:
            _publish(screen_waiting_submissions, [], None, None)
        for item in items:
            invitation_id, _, network = item.decode().partition(" ")
            try:
                decided = review_screen_submission(
                    invitation_id=int(invitation_id), network=network or None
                )
            except Exception:  # one bad submission must not strand the rest of the batch
                logger.exception("screening of invitation %s failed", invitation_id)
                continue
            done += bool(decided)
    return done


def review_screen_submission(*, invitation_id: int, network: str | None = None) -> list[Review]:
    """Decide the pending reviews of one submission: publish or hold (R17, R18, R23)."""
    company_id = (
        Invitation.objects.unscoped()
        .filter(pk=invitation_id)
        .values_list("company_id", flat=True)
        .first()
    )
    if company_id is None:
        return []
    with submitted_from(None, network=network), tenant_scope(company_id), transaction.atomic():
        reviews = list(
            Review.objects.select_for_update(of=("self",))
            .select_related("shop", "invitation")
            .filter(
                invitation_id=invitation_id,
                status=Review.Status.PENDING,
                is_transaction_based=True,
            )
            .order_by("kind", "product_id")  # merchant first: its screening is the submission's
        )
        if not reviews:
            return []
        texts = dict(
            ReviewVersion.objects.filter(review__in=reviews, version=1).values_list(
                "review_id", "comment"
            )
        )
        memo: dict = {}
        for review in reviews:
            review.comment = texts.get(review.pk, "")
            review_decide(review, now=review.submitted_at, memo=memo)
            review.save()
        merchant = reviews[0]
        if merchant.status == Review.Status.PUBLISHED and (
            merchant.shop.media_published_without_moderator
        ):
            ReviewMedia.objects.filter(review=merchant, status=ReviewMedia.Status.PENDING).update(
                status=ReviewMedia.Status.PUBLISHED
            )
        _announce(reviews)
    return reviews


def reviews_screen_overdue(*, now=None) -> int:
    """Backstop: screen submissions still pending ``OVERDUE_AFTER`` after they came in (their
    message was lost). The network of such a submission is not known any more."""
    now = now or timezone.now()
    invitation_ids = (
        # Deliberately cross-tenant: the backstop covers every shop.
        Review.objects.unscoped()
        .filter(
            status=Review.Status.PENDING,
            is_transaction_based=True,
            invitation__isnull=False,
            submitted_at__lt=now - OVERDUE_AFTER,
        )
        .values_list("invitation_id", flat=True)
        .distinct()
    )
    done = 0
    for invitation_id in list(invitation_ids):
        done += bool(review_screen_submission(invitation_id=invitation_id))
    return done
