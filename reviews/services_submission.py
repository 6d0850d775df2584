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

import contextlib
import datetime
import json
import logging

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnavailable
from redis.exceptions import RedisError

from companies.tenancy import tenant_scope
from invitations.models import Invitation, OrderItem
from reviews.models import Review, ReviewMedia, ReviewVersion
from reviews.services import (
    AlreadySubmitted,
    Submission,
    _announce,
    _attach_media,
    clean_display_text,
    first_version,
    link_closed,
    review_decide,
    submitted_from,
)

logger = logging.getLogger(__name__)

# Screened by the backstop when still pending this long after submission.
OVERDUE_AFTER = datetime.timedelta(minutes=2)
# Waiting submissions a worker takes from the list at a time, and batches in one task.
SCREENING_BATCH = 50
SCREENING_BATCHES_PER_TASK = 10

# One call of the function that stores the submission (migrations reviews 0012, 0013): it checks
# the link (valid, its shop open for ratings, nothing submitted yet), marks it rated and stores
# the merchant review and one per product of the order, pending, with their first versions; it
# returns the new reviews' ids, none when the link takes nothing. The reviews wanted travel as
# one JSON array of ``[kind, product id, stars, comment]``: adapting parallel lists to Postgres
# arrays cost the web process more than the rest of the call.
_RECEIVE_SQL = "SELECT reviews_receive(%s, %s, %s::jsonb, %s, %s)"


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
    return link_closed(invitation, now) or AlreadySubmitted()


def _receive_statement(invitation_id: int, wanted: list, submission: Submission, now) -> list:
    with connection.cursor() as cursor:
        cursor.execute(
            _RECEIVE_SQL,
            [
                invitation_id,
                now,
                json.dumps(
                    [
                        [kind, product_id, rating.rating, rating.comment.strip()]
                        for kind, product_id, rating in wanted
                    ],
                    ensure_ascii=False,
                ),
                clean_display_text(submission.display_name)[:60],
                submission.dialogue_email,
            ],
        )
        return [row[0] for row in cursor.fetchall()]


def _receive_portable(invitation_id: int, wanted: list, submission: Submission, now) -> list:
    """What ``reviews_receive`` does, through the ORM, for a database other than Postgres (the
    embedded SQLite of ``make run``): the same checks and rows, in one transaction."""
    with transaction.atomic():
        invitation = (
            Invitation.objects.unscoped()  # the id comes from the signed review session
            .select_for_update()
            .select_related("shop", "shop__company")
            .filter(pk=invitation_id)
            .first()
        )
        if (
            invitation is None
            or link_closed(invitation, now)
            or Review.objects.unscoped().filter(invitation_id=invitation_id).exists()
        ):
            return []  # ``_refusal`` says why
        with tenant_scope(invitation.company_id):
            ordered = set(
                OrderItem.objects.filter(order_id=invitation.order_id).values_list(
                    "product_id", flat=True
                )
            )
            stored = []
            for kind, product_id, rating in wanted:
                if kind == Review.Kind.PRODUCT and product_id not in ordered:
                    continue  # only the order's products can be rated (R13)
                review = Review.objects.create(
                    company_id=invitation.company_id,
                    shop=invitation.shop,
                    kind=kind,
                    product_id=product_id,
                    invitation=invitation,
                    rating=rating.rating,
                    display_name=clean_display_text(submission.display_name)[:60],
                    dialogue_email=(
                        submission.dialogue_email if kind == Review.Kind.MERCHANT else ""
                    ),
                    status=Review.Status.PENDING,
                    submitted_at=now,
                )
                first_version(review, rating.comment.strip())
                stored.append(review.pk)
            Invitation.objects.filter(pk=invitation_id).update(
                status=Invitation.Status.RATED, used_at=now, updated_at=now
            )
        return stored


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
    network = _network(client_ip)
    # One autocommitted call; a savepoint only when it shares a transaction (a failed call must
    # not abort it) or has media to attach in the same transaction.
    atomic = submission.media or connection.in_atomic_block
    try:
        with transaction.atomic() if atomic else contextlib.nullcontext():
            if connection.vendor == "postgresql":
                stored = _receive_statement(invitation_id, wanted, submission, now)
            else:
                stored = _receive_portable(invitation_id, wanted, submission, now)
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

    def screen_here():
        review_screen_submission(invitation_id=invitation_id, network=network)

    client = redis_client()
    if client is None:
        _publish(screen_submission, [invitation_id, network], inline=screen_here)
        return
    try:
        waiting = client.rpush(settings.REVIEW_SCREENING_LIST, f"{invitation_id} {network or ''}")
    except RedisError:
        logger.warning("screening of invitation %s runs inline: no broker", invitation_id)
        screen_here()
        return
    if waiting % SCREENING_BATCH == 1:  # the list was empty, or a batch more came: wake one
        _publish(screen_waiting_submissions, [], inline=reviews_screen_waiting)


def _publish(task, args: list, *, inline) -> None:
    """Publish ``task``; without a reachable broker, run ``inline`` here instead."""
    try:
        task.apply_async(args=args, retry=False)
    except BrokerUnavailable:
        logger.warning("%s runs inline: no broker", task.name)
        inline()


def reviews_screen_waiting(
    *, batch: int = SCREENING_BATCH, batches: int = SCREENING_BATCHES_PER_TASK
) -> int:
    """Screen the submissions waiting in the broker's list, oldest first.

    Takes ``batch`` at a time, at most ``batches`` times, so one task stays well inside its
    time limit; a full batch first wakes another worker for the rest, so a burst is shared and
    nothing is left without a worker coming. A submission whose screening fails stays pending
    and the overdue backstop decides it (as it does everything taken from the list by a worker
    that died). Returns how many submissions it decided.
    """
    from ekomi.broker import redis_client
    from reviews.tasks import screen_waiting_submissions

    client = redis_client()
    if client is None:
        return 0
    done = 0
    for _ in range(batches):
        items = client.lpop(settings.REVIEW_SCREENING_LIST, batch)
        if not items:
            break
        if len(items) == batch:  # without a broker, this run goes on and the backstop follows
            _publish(screen_waiting_submissions, [], inline=lambda: None)
        for item in items:
            invitation_id, _, network = item.decode().partition(" ")
            try:
                decided = review_screen_submission(
                    invitation_id=int(invitation_id), network=network or None
                )
            except SoftTimeLimitExceeded:
                raise
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
