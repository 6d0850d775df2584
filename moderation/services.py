"""Moderator actions (R18-R21): publish, star out a span, reject media, unpublish, delete,
restore, and the same for company comments and dialogue messages.

Each action locks its row, changes it, appends an entry to the hash-chained moderation log (who,
when, what, why, before and after) and, for reviews, announces ``review_changed`` after commit
so the seals app recomputes the average and retires the shop's public caches (R26, TI-5).
Moderators work across companies: each action looks up the row's company by id (a deliberate
cross-tenant read) and then runs inside that company's scope.

Complaints live in ``moderation.complaints``, enforcement on shops in
``moderation.enforcement``, customer dialogue in ``moderation.dialogue``.
"""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone

from companies.tenancy import TenantModel, tenant_scope
from moderation import checks, log
from moderation.models import (
    REMOVAL_REASONS,
    IntegritySignal,
    ModerationLogEntry,
    Reason,
    ReplacementOffer,
)
from reviews.models import CompanyComment, DialogueMessage, Review, ReviewMedia, ReviewVersion
from reviews.signals import review_changed

Action = ModerationLogEntry.Action
REPLACEMENT_DAYS = 30  # how long the emailed offer to replace a review stays usable (R21)


class ModerationError(ValueError):
    """An action that cannot be taken as asked; the message says why, for the moderator."""


def company_of(model: type[TenantModel], pk: int) -> int:
    # Deliberately cross-tenant: platform staff act on every company's rows; the row's own
    # company is looked up and the rest of the action runs inside its scope.
    company_id = model.objects.unscoped().filter(pk=pk).values_list("company_id", flat=True).first()
    if company_id is None:
        raise ModerationError(f"No {model._meta.verbose_name} {pk}.")
    return company_id


def announce(review: Review) -> None:
    """After commit: the seals app recomputes and retires the shop's public caches (R26)."""
    company_id, shop_id = review.company_id, review.shop_id
    product_ids = {review.product_id} if review.product_id else set()
    transaction.on_commit(
        lambda: review_changed.send(
            sender=Review, company_id=company_id, shop_id=shop_id, product_ids=product_ids
        )
    )


def require_reason(reason: str, justification: str, allowed=REMOVAL_REASONS) -> None:
    """R19: a recorded reason from the list; staff discretion needs a written justification."""
    if reason not in {str(r) for r in allowed}:
        raise ModerationError("Choose one of the reasons the review conditions allow (R19).")
    if reason == Reason.DISCRETION and not justification.strip():
        raise ModerationError("Staff discretion needs a written justification (004 §5.7.4).")


def snapshot(review: Review) -> dict:
    return {
        "status": review.status,
        "rating": review.rating,
        "comment": review.comment,
        "version": review.version,
    }


def _locked_review(review_id: int) -> Review:
    return Review.objects.select_for_update().get(pk=review_id)


def _log_review(review: Review, action: str, actor, before: dict, **extra) -> None:
    log.log_append(
        company_id=review.company_id,
        shop_id=review.shop_id,
        actor=actor,
        action=action,
        target_type="review",
        target_id=review.pk,
        before=before,
        after=snapshot(review),
        **extra,
    )


def _open_held_signals(review: Review):
    return IntegritySignal.objects.filter(
        review=review, status=IntegritySignal.Status.OPEN, held=True
    )


def review_publish(*, review_id: int, actor, justification: str = "") -> Review:
    """Publish a held review. Signals that held it are dismissed by this decision (R23)."""
    with tenant_scope(company_of(Review, review_id)), transaction.atomic():
        review = _locked_review(review_id)
        if review.status != Review.Status.HELD:
            raise ModerationError("Only a held review can be published; use restore otherwise.")
        before = snapshot(review)
        now = timezone.now()
        review.status, review.published_at = Review.Status.PUBLISHED, review.published_at or now
        review.save(update_fields=["status", "published_at", "updated_at"])
        dismissed = list(_open_held_signals(review).values_list("pk", flat=True))
        IntegritySignal.objects.filter(pk__in=dismissed).update(
            status=IntegritySignal.Status.DISMISSED,
            resolved_by=actor,
            resolved_at=now,
            resolution_note="The review was published by a moderator.",
        )
        _log_review(review, Action.PUBLISH, actor, before, justification=justification.strip())
        announce(review)
    return review


def _new_text_version(review: Review, comment: str, actor) -> None:
    review.version += 1
    review.comment = comment
    ReviewVersion.objects.create(
        company_id=review.company_id,
        shop_id=review.shop_id,
        review=review,
        version=review.version,
        rating=review.rating,
        comment=comment,
        edited_by=actor,
    )


def span_of(text: str, fragment: str, occurrence: int = 1) -> tuple[int, int]:
    """The span of the n-th occurrence of ``fragment`` in ``text`` (for the admin form)."""
    position = -1
    for _ in range(max(occurrence, 1)):
        position = text.find(fragment, position + 1)
        if position < 0 or not fragment:
            raise ModerationError("That text does not occur in the comment.")
    return position, position + len(fragment)


def review_obscure(
    *,
    review_id: int,
    actor,
    start: int,
    end: int,
    reason: str = Reason.REVIEW_CONDITIONS,
    justification: str = "",
) -> Review:
    """Star out one span of a review's comment; the stars and the rest stay (R18, 004 §5.5).

    The starred text becomes a new version (R15 history) and the evaluator is offered to
    replace the review (R21).
    """
    with tenant_scope(company_of(Review, review_id)), transaction.atomic():
        review = _locked_review(review_id)
        if not 0 <= start < end <= len(review.comment):
            raise ModerationError("Select a part of the current comment.")
        before = snapshot(review)
        _new_text_version(review, checks.obscure(review.comment, [(start, end)]), actor)
        review.save(update_fields=["comment", "version", "updated_at"])
        _log_review(
            review,
            Action.OBSCURE,
            actor,
            before,
            reason=reason,
            justification=justification.strip(),
        )
        replacement_offer(review=review, cause=ReplacementOffer.Cause.OBSCURED)
        announce(review)
    return review


def _remove(*, review_id, actor, reason, justification, status, action) -> Review:
    require_reason(reason, justification)
    with tenant_scope(company_of(Review, review_id)), transaction.atomic():
        review = _locked_review(review_id)
        if review.status == Review.Status.DELETED or review.status == status:
            raise ModerationError(f"The review is already {review.get_status_display()}.")
        before = snapshot(review)
        review.status = status
        if status == Review.Status.DELETED:
            review.deleted_at = timezone.now()
        review.save(update_fields=["status", "deleted_at", "updated_at"])
        _log_review(review, action, actor, before, reason=reason, justification=justification)
        if status == Review.Status.DELETED and reason != Reason.MANIPULATION:
            # R21: the evaluator may replace it; not when the review itself was manipulation.
            replacement_offer(review=review, cause=ReplacementOffer.Cause.DELETED)
        announce(review)
    return review


def review_unpublish(*, review_id: int, actor, reason: str, justification: str = "") -> Review:
    """Take a review offline, with a reason from R19 (004 §5.7); it can be restored."""
    return _remove(
        review_id=review_id,
        actor=actor,
        reason=reason,
        justification=justification.strip(),
        status=Review.Status.UNPUBLISHED,
        action=Action.UNPUBLISH,
    )


def review_delete(*, review_id: int, actor, reason: str, justification: str = "") -> Review:
    """Delete a review with a reason from R19. The row and its history stay for the log and a
    possible restore; it is gone from every public surface and the average (R24)."""
    return _remove(
        review_id=review_id,
        actor=actor,
        reason=reason,
        justification=justification.strip(),
        status=Review.Status.DELETED,
        action=Action.DELETE,
    )


def review_restore(*, review_id: int, actor, justification: str) -> Review:
    """Undo a moderator's unpublish or delete (never an evaluator's own deletion, R15)."""
    if not justification.strip():
        raise ModerationError("Say why the review is restored.")
    with tenant_scope(company_of(Review, review_id)), transaction.atomic():
        review = _locked_review(review_id)
        removed_by_moderator = ModerationLogEntry.objects.filter(
            target_type="review",
            target_id=review.pk,
            action__in=[Action.UNPUBLISH, Action.DELETE],
        ).exists()
        if review.status not in (Review.Status.UNPUBLISHED, Review.Status.DELETED) or not (
            removed_by_moderator
        ):
            raise ModerationError("Only a review a moderator took down can be restored.")
        before = snapshot(review)
        review.status, review.deleted_at = Review.Status.PUBLISHED, None
        review.published_at = review.published_at or timezone.now()
        review.save(update_fields=["status", "deleted_at", "published_at", "updated_at"])
        _log_review(review, Action.RESTORE, actor, before, justification=justification.strip())
        announce(review)
    return review


# --- Photos and videos (R18, 004 §5.6) -----------------------------------------------------------


def _media_action(*, media_id: int, actor, status: str, action: str, reason="", note="") -> None:
    with tenant_scope(company_of(ReviewMedia, media_id)), transaction.atomic():
        media = ReviewMedia.objects.select_for_update().select_related("review").get(pk=media_id)
        if media.status == status:
            raise ModerationError(f"The {media.kind} is already {media.get_status_display()}.")
        before = {"status": media.status, "review": media.review_id}
        media.status = status
        media.save(update_fields=["status", "updated_at"])
        log.log_append(
            company_id=media.company_id,
            shop_id=media.shop_id,
            actor=actor,
            action=action,
            target_type="media",
            target_id=media.pk,
            reason=reason,
            justification=note.strip(),
            before=before,
            after={"status": media.status, "review": media.review_id},
        )
        announce(media.review)


def media_publish(*, media_id: int, actor) -> None:
    _media_action(
        media_id=media_id,
        actor=actor,
        status=ReviewMedia.Status.PUBLISHED,
        action=Action.MEDIA_PUBLISH,
    )


def media_reject(*, media_id: int, actor, reason: str = "", justification: str = "") -> None:
    """A photo or video that breaks the review conditions is not published (004 §5.6)."""
    _media_action(
        media_id=media_id,
        actor=actor,
        status=ReviewMedia.Status.REJECTED,
        action=Action.MEDIA_REJECT,
        reason=reason or Reason.REVIEW_CONDITIONS,
        note=justification,
    )


# --- Company comments (R22) ------------------------------------------------------------------


def _comment_log(comment: CompanyComment, action: str, actor, before: dict, **extra) -> None:
    log.log_append(
        company_id=comment.company_id,
        shop_id=comment.shop_id,
        actor=actor,
        action=action,
        target_type="company_comment",
        target_id=comment.pk,
        before=before,
        after={"status": comment.status, "text": comment.text},
        **extra,
    )


def comment_moderate(
    *,
    comment_id: int,
    actor,
    action: str,
    span: tuple[int, int] | None = None,
    reason: str = "",
    justification: str = "",
) -> CompanyComment:
    """Publish a held company comment, star out a span of it, or remove it."""
    with tenant_scope(company_of(CompanyComment, comment_id)), transaction.atomic():
        comment = (
            CompanyComment.objects.select_for_update().select_related("review").get(pk=comment_id)
        )
        before = {"status": comment.status, "text": comment.text}
        if action == Action.COMMENT_PUBLISH:
            comment.status = CompanyComment.Status.PUBLISHED
            comment.published_at = comment.published_at or timezone.now()
        elif action == Action.COMMENT_OBSCURE and span is not None:
            comment.text = checks.obscure(comment.text, [span])
        elif action == Action.COMMENT_REMOVE:
            comment.status = CompanyComment.Status.REMOVED
        else:
            raise ModerationError("Unknown action on a company comment.")
        comment.save()
        _comment_log(comment, action, actor, before, reason=reason, justification=justification)
        announce(comment.review)
    return comment


# --- Dialogue messages (R22) -----------------------------------------------------------------


def message_moderate(*, message_id: int, actor, release: bool, justification: str = "") -> None:
    """Release a held dialogue message to the other side, or reject it for good."""
    from moderation import dialogue

    with tenant_scope(company_of(DialogueMessage, message_id)), transaction.atomic():
        message = DialogueMessage.objects.select_for_update().get(pk=message_id)
        if message.status != DialogueMessage.Status.HELD:
            raise ModerationError("Only a held message can be released or rejected.")
        before = {"status": message.status}
        if release:
            message.status = DialogueMessage.Status.PUBLISHED
            message.published_at = timezone.now()
        else:
            message.status = DialogueMessage.Status.REJECTED
        message.save(update_fields=["status", "published_at", "updated_at"])
        log.log_append(
            company_id=message.company_id,
            shop_id=message.shop_id,
            actor=actor,
            action=Action.MESSAGE_RELEASE if release else Action.MESSAGE_REJECT,
            target_type="dialogue_message",
            target_id=message.pk,
            justification=justification.strip(),
            before=before,
            after={"status": message.status},
        )
        if release:
            dialogue.deliver(message)


# --- Integrity signals (R23) ------------------------------------------------------------------


def signal_resolve(*, signal_id: int, actor, confirmed: bool, note: str = "") -> IntegritySignal:
    """A moderator's verdict on a signal: manipulation or not. A confirmed signal does not take
    the review down by itself; that is an explicit unpublish or delete with its reason."""
    with tenant_scope(company_of(IntegritySignal, signal_id)), transaction.atomic():
        signal = IntegritySignal.objects.select_for_update().get(pk=signal_id)
        if signal.status != IntegritySignal.Status.OPEN:
            raise ModerationError("This signal is already settled.")
        before = {"status": signal.status}
        signal.status = (
            IntegritySignal.Status.CONFIRMED if confirmed else IntegritySignal.Status.DISMISSED
        )
        signal.resolved_by, signal.resolved_at = actor, timezone.now()
        signal.resolution_note = note.strip()
        signal.save()
        log.log_append(
            company_id=signal.company_id,
            shop_id=signal.shop_id,
            actor=actor,
            action=Action.SIGNAL_CONFIRM if confirmed else Action.SIGNAL_DISMISS,
            target_type="signal",
            target_id=signal.pk,
            reason=Reason.MANIPULATION if confirmed else "",
            justification=note.strip(),
            before=before,
            after={"status": signal.status, "kind": signal.kind, "review": signal.review_id},
        )
    return signal


# --- Replacing a review (R21) -----------------------------------------------------------------


def replacement_offer(*, review: Review, cause: str) -> ReplacementOffer | None:
    """Offer the evaluator, by email, to replace a (partly) deleted review (R21, 004 §5.10).

    Only if the evaluator left an address during the review (``dialogue_email``); otherwise
    there is nobody to tell, and nothing is recorded.
    """
    if not review.dialogue_email:
        return None
    offer = ReplacementOffer.objects.create(
        company_id=review.company_id,
        shop_id=review.shop_id,
        review=review,
        cause=cause,
        expires_at=timezone.now() + datetime.timedelta(days=REPLACEMENT_DAYS),
    )
    from moderation.tasks import send_replacement_offer

    transaction.on_commit(lambda: send_replacement_offer.delay(offer.pk))
    return offer


def replacement_offer_valid(offer: ReplacementOffer | None, now=None) -> bool:
    now = now or timezone.now()
    return offer is not None and offer.used_at is None and now < offer.expires_at


def review_replace(
    *, offer_id: int, company_id: int, rating: int, comment: str, client_ip: str | None = None
) -> Review | None:
    """The evaluator's replacement for a (partly) deleted review (R21): a new version of the
    same review, decided like any review (R17); the offer is spent. None if it is not valid."""
    from reviews.services import review_decide, submitted_from

    now = timezone.now()
    with submitted_from(client_ip), tenant_scope(company_id), transaction.atomic():
        offer = ReplacementOffer.objects.select_for_update().filter(pk=offer_id).first()
        if not replacement_offer_valid(offer, now):
            return None
        review = _locked_review(offer.review_id)
        review.version += 1
        review.rating, review.comment = rating, comment.strip()
        ReviewVersion.objects.create(
            company_id=review.company_id,
            shop_id=review.shop_id,
            review=review,
            version=review.version,
            rating=review.rating,
            comment=review.comment,
        )
        review.deleted_at, review.published_at, review.submitted_at = None, None, now
        review_decide(review, now=now)
        review.save()
        offer.used_at = now
        offer.save(update_fields=["used_at", "updated_at"])
        announce(review)
    return review
