"""Writes for reviews: submit, edit and delete through a rating link (R12-R16).

Every new or changed text passes ``review_decide``, the single place where the platform decides
to publish or hold (R17); the decision comes from ``moderation.checks`` and never sees the stars.
After commit, ``review_changed`` tells the seals app to recompute (R26).
"""

from __future__ import annotations

import unicodedata
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from companies.tenancy import tenant_scope
from invitations.models import Invitation
from moderation import checks
from reviews.media import CleanMedia
from reviews.models import Review, ReviewMedia, ReviewVersion
from reviews.signals import review_changed

# Bidi overrides and zero-width characters would let a name rewrite the page around it (IN-4).
_INVISIBLE = dict.fromkeys(
    [
        0x200B,
        0x200C,
        0x200D,
        0x200E,
        0x200F,
        0x2028,
        0x2029,
        0x202A,
        0x202B,
        0x202C,
        0x202D,
        0x202E,
        0x2066,
        0x2067,
        0x2068,
        0x2069,
        0xFEFF,
    ]
)


class ReviewError(Exception):
    code = "review_error"


class LinkNotUsable(ReviewError):
    """The link expired, or the shop does not accept ratings now."""

    code = "link_not_usable"


class AlreadySubmitted(ReviewError):
    code = "already_submitted"


class NothingToEdit(ReviewError):
    code = "nothing_to_edit"


@dataclass(frozen=True)
class RatingInput:
    rating: int
    comment: str = ""


@dataclass(frozen=True)
class Submission:
    merchant: RatingInput
    products: dict[int, RatingInput] = field(default_factory=dict)  # Product id -> rating
    display_name: str = ""
    dialogue_email: str = ""
    media: tuple[CleanMedia, ...] = ()


def clean_display_text(value: str) -> str:
    return unicodedata.normalize("NFC", value).translate(_INVISIBLE).strip()


# Asked by ``review_decide`` for every new or changed review, before it is saved. Receivers (the
# moderation app's integrity checks, R23) look at the unsaved review, the time and the client's
# address and return an object whose ``hold_reasons`` (a tuple of codes) hold the review for a
# moderator. They never see a decision to make about the stars: there is none (R17).
review_screening = Signal()
_CLIENT_IP: ContextVar[str | None] = ContextVar("review_client_ip", default=None)
_NETWORK: ContextVar[str | None] = ContextVar("review_network", default=None)


@contextmanager
def submitted_from(client_ip: str | None, *, network: str | None = None):
    """The rating page's client address, for the integrity screening of what is decided inside
    (bursts from one network, R23). Only a truncated, keyed hash of it is ever stored; a
    submission screened later by a worker carries that hash (``network``) instead."""
    token = _CLIENT_IP.set(client_ip or None)
    network_token = _NETWORK.set(network or None)
    try:
        yield
    finally:
        _NETWORK.reset(network_token)
        _CLIENT_IP.reset(token)


@dataclass(frozen=True)
class ReviewDecision:
    """What ``review_decide`` found, kept on the review (``review.moderation_decision``) until
    it is saved; the moderation app then records the findings and signals (R17, R23)."""

    check: checks.TextCheck
    screenings: tuple = ()
    client_ip: str | None = None

    @property
    def hold_reasons(self) -> tuple[str, ...]:
        return tuple(r for s in self.screenings for r in getattr(s, "hold_reasons", ()))


def review_decide(review: Review, *, now, memo: dict | None = None) -> checks.TextCheck:
    """Publish or hold one review: the single decision point (R17, R18, R23).

    The automatic check of the text (``moderation.checks``) stars out clear cases and holds
    unclear ones; the integrity screening (``review_screening``) may hold it too. Neither sees
    the stars, so a clean review is published at once whatever its rating.
    """
    result = checks.check_text(review.comment)
    review.comment = result.text
    client_ip = _CLIENT_IP.get()
    # ``memo`` lives for one submission: its merchant and product reviews share what receivers
    # look up about the company, the network and the link, so it is looked up once.
    answers = review_screening.send(
        sender=Review,
        review=review,
        now=now,
        client_ip=client_ip,
        network=_NETWORK.get(),
        memo={} if memo is None else memo,
    )
    decision = ReviewDecision(
        check=result,
        screenings=tuple(answer for _receiver, answer in answers if answer is not None),
        client_ip=client_ip,
    )
    if result.decision == checks.PUBLISH and not decision.hold_reasons:
        review.status = Review.Status.PUBLISHED
        review.published_at = review.published_at or now
    else:
        review.status = Review.Status.HELD
    review.moderation_decision = decision
    return result


def link_closed(invitation: Invitation, now) -> LinkNotUsable | None:
    """Why a rating link takes nothing any more (R9, R30), or None while it is open; its shop
    and company loaded with it."""
    if now >= invitation.expires_at or invitation.status == Invitation.Status.EXPIRED:
        return LinkNotUsable("expired")
    if invitation.shop.ratings_stopped or not invitation.shop.is_public:
        return LinkNotUsable("ratings stopped")
    return None


def _lock_open_invitation(invitation_id: int, now) -> Invitation:
    invitation = (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("shop", "shop__company")
        .get(pk=invitation_id)
    )
    if closed := link_closed(invitation, now):
        raise closed
    return invitation


def _order_products(invitation: Invitation) -> dict:
    """The order's products by id (one query): what product reviews may be about (R13)."""
    items = invitation.order.items.select_related("product")
    return {item.product_id: item.product for item in items}


def _new_review(
    invitation, *, kind, rating: RatingInput, product=None, submission, now, memo: dict
):
    review = Review(
        company_id=invitation.company_id,
        shop=invitation.shop,  # loaded objects: the same-company check needs no query
        invitation=invitation,
        kind=kind,
        product=product,
        rating=rating.rating,
        comment=rating.comment.strip(),
        display_name=clean_display_text(submission.display_name)[:60],
        dialogue_email=submission.dialogue_email if kind == Review.Kind.MERCHANT else "",
        submitted_at=now,
    )
    original = review.comment
    review_decide(review, now=now, memo=memo)
    review.save()
    first_version(review, original)
    return review


def first_version(review: Review, comment: str) -> ReviewVersion:
    """Version 1 of a new review: its stars and the text as submitted (R15)."""
    return ReviewVersion.objects.create(
        company_id=review.company_id,
        shop=review.shop,
        review=review,
        version=1,
        rating=review.rating,
        comment=comment,
    )


def _attach_media(review: Review, media: tuple[CleanMedia, ...]) -> None:
    """Photos and videos wait for a moderator (R17, 004 §5.6) unless staff approved this
    shop's media to go out with a published review."""
    if not media:
        return
    at_once = (
        review.status == Review.Status.PUBLISHED and review.shop.media_published_without_moderator
    )
    for item in media:
        row = ReviewMedia(
            company_id=review.company_id,
            shop_id=review.shop_id,
            review=review,
            kind=item.kind,
            content_type=item.content_type,
            size=item.content.size,
            width=item.width,
            height=item.height,
            status=ReviewMedia.Status.PUBLISHED if at_once else ReviewMedia.Status.PENDING,
        )
        row.file.save("upload", item.content, save=False)
        row.save()


def _announce(reviews: list[Review]) -> None:
    if not reviews:
        return
    first = reviews[0]
    product_ids = {r.product_id for r in reviews if r.product_id}
    transaction.on_commit(
        lambda: review_changed.send(
            sender=Review,
            company_id=first.company_id,
            shop_id=first.shop_id,
            product_ids=product_ids,
        )
    )


def review_submit(
    *, invitation_id: int, submission: Submission, client_ip: str | None = None
) -> list[Review]:
    """One merchant review and one per product of the order (R13), once per invitation (AU-3),
    stored and screened here and now: ``review_receive`` then ``review_screen_submission``
    (``reviews.services_submission``), which the rating page runs in two steps, the second in a
    worker. ``client_ip`` (optional) feeds the integrity screening (R23).
    """
    from reviews import services_submission

    network = services_submission.review_receive(
        invitation_id=invitation_id, submission=submission, client_ip=client_ip, queue=False
    )
    return services_submission.review_screen_submission(
        invitation_id=invitation_id, network=network
    )


def _revise(review: Review, rating: RatingInput, *, now, memo: dict) -> bool:
    comment = rating.comment.strip()
    if review.status == Review.Status.DELETED:
        return False
    if (review.rating, review.comment) == (rating.rating, comment):
        return False
    review.version += 1
    review.rating, review.comment = rating.rating, comment
    ReviewVersion.objects.create(
        company_id=review.company_id,
        shop_id=review.shop_id,
        review=review,
        version=review.version,
        rating=rating.rating,
        comment=comment,
    )
    review_decide(review, now=now, memo=memo)
    review.save()
    return True


def _with_pending_text(reviews: list[Review]) -> None:
    """A review still waiting for its screening keeps its text in version 1 (see
    ``reviews.services_submission``); an edit compares with that text, not the empty field."""
    pending = [r for r in reviews if r.status == Review.Status.PENDING and r.is_transaction_based]
    if not pending:
        return
    texts = dict(
        ReviewVersion.objects.filter(review__in=pending, version=1).values_list(
            "review_id", "comment"
        )
    )
    for review in pending:
        review.comment = texts.get(review.pk, "")


def review_edit(
    *, invitation_id: int, submission: Submission, client_ip: str | None = None
) -> list[Review]:
    """Replace the evaluator's ratings while the link is valid; history is kept (R15)."""
    now = timezone.now()
    company_id = (
        Invitation.objects.unscoped().values_list("company_id", flat=True).get(pk=invitation_id)
    )
    with submitted_from(client_ip), tenant_scope(company_id), transaction.atomic():
        invitation = _lock_open_invitation(invitation_id, now)
        # Locked: a queued screening of the same reviews waits for this edit, or this for it.
        reviews = list(
            Review.objects.select_for_update(of=("self",))
            .filter(invitation=invitation)
            .exclude(status=Review.Status.DELETED)
        )
        _with_pending_text(reviews)
        current = {(r.kind, r.product_id): r for r in reviews}
        merchant = current.get((Review.Kind.MERCHANT, None))
        if merchant is None:
            raise NothingToEdit()
        memo: dict = {}
        changed = [merchant] if _revise(merchant, submission.merchant, now=now, memo=memo) else []
        allowed = _order_products(invitation)
        for product_id, rating in sorted(submission.products.items()):
            review = current.get((Review.Kind.PRODUCT, product_id))
            if review is None and product_id in allowed:
                changed.append(
                    _new_review(
                        invitation,
                        kind=Review.Kind.PRODUCT,
                        rating=rating,
                        product=allowed[product_id],
                        submission=submission,
                        now=now,
                        memo=memo,
                    )
                )
            elif review is not None and _revise(review, rating, now=now, memo=memo):
                changed.append(review)
        _attach_media(merchant, submission.media)
        _announce(changed)
    return changed


def review_delete_by_evaluator(*, invitation_id: int) -> int:
    """The evaluator deletes their reviews (R15): text, name and media go; the row stays as a
    tombstone so the link cannot be used again and the average drops it."""
    now = timezone.now()
    company_id = (
        Invitation.objects.unscoped().values_list("company_id", flat=True).get(pk=invitation_id)
    )
    with tenant_scope(company_id), transaction.atomic():
        reviews = list(
            Review.objects.select_for_update()
            .filter(invitation_id=invitation_id)
            .exclude(status=Review.Status.DELETED)
        )
        for review in reviews:
            for media in ReviewMedia.objects.filter(review=review):
                media.file.delete(save=False)
                media.delete()
            ReviewVersion.objects.filter(review=review).update(comment="")
            review.status, review.deleted_at = Review.Status.DELETED, now
            review.comment = review.display_name = review.dialogue_email = ""
            review.save()
        _announce(reviews)
    return len(reviews)


# --- Reviews without an order, written on the certificate page (R14) -------------------------

CONFIRMATION_SALT = "reviews.visitor-confirmation"
CONFIRMATION_MAX_AGE = 7 * 24 * 60 * 60  # seconds; unconfirmed reviews are purged after this


class ReviewsClosed(ReviewError):
    code = "reviews_closed"


def visitor_review_create(
    *, shop, rating: int, comment: str, display_name: str, email: str
) -> Review:
    """A non-transaction-based review, held until its author confirms the email address."""
    if not (shop.non_transaction_reviews_enabled and shop.is_public) or shop.ratings_stopped:
        raise ReviewsClosed()
    now = timezone.now()
    with tenant_scope(shop.company_id), transaction.atomic():
        review = Review.objects.create(
            company_id=shop.company_id,
            shop=shop,
            kind=Review.Kind.MERCHANT,
            invitation=None,
            is_transaction_based=False,
            rating=rating,
            comment=comment.strip(),
            display_name=clean_display_text(display_name)[:60],
            author_email=email,
            status=Review.Status.PENDING,
            submitted_at=now,
        )
        ReviewVersion.objects.create(
            company_id=shop.company_id,
            shop=shop,
            review=review,
            version=1,
            rating=rating,
            comment=review.comment,
        )
        from reviews.tasks import send_review_confirmation

        transaction.on_commit(lambda: send_review_confirmation.delay(review.pk))
    return review


def visitor_confirmation_token(review: Review) -> str:
    from django.core import signing

    return signing.dumps({"r": review.pk, "c": review.company_id}, salt=CONFIRMATION_SALT)


def visitor_review_confirm(*, token: str) -> Review | None:
    """Publish (or hold) a visitor's review once its email is confirmed. Safe to repeat."""
    from django.core import signing

    try:
        data = signing.loads(token, salt=CONFIRMATION_SALT, max_age=CONFIRMATION_MAX_AGE)
    except signing.BadSignature:
        return None
    with tenant_scope(data["c"]), transaction.atomic():
        review = Review.objects.select_for_update().filter(pk=data["r"]).first()
        if review is None or review.status != Review.Status.PENDING or not review.author_email:
            return review
        # The integrity screening in review_decide compares the address with the company's own
        # (R23, AB-3); afterwards it is erased: its only purpose was this confirmation.
        review_decide(review, now=timezone.now())
        review.author_email = ""
        review.save()
        _announce([review])
    return review


def reviews_purge_unconfirmed(*, now=None) -> int:
    """Delete visitor reviews whose address was never confirmed within the link's lifetime."""
    import datetime

    now = now or timezone.now()
    cutoff = now - datetime.timedelta(seconds=CONFIRMATION_MAX_AGE)
    # Deliberately cross-tenant: the retention sweep covers every shop.
    _total, per_model = (
        Review.objects.unscoped()
        .filter(is_transaction_based=False, status=Review.Status.PENDING, submitted_at__lt=cutoff)
        .exclude(author_email="")
        .delete()
    )
    return per_model.get(Review._meta.label, 0)
