"""Erase one evaluator's data on request of the company or the evaluator (R42, GD-1).

The evaluator is found in one company by order id or email address. Their invitation loses
its personal data, their reviews are anonymised (stars stay, everything they wrote or uploaded
goes) or deleted, averages and seals are recomputed (``review_changed``), and the moderation
log keeps only pseudonymous references: the invitation's and reviews' public ids (R43).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from invitations.models import Invitation, LinkRequest
from moderation import log
from moderation.models import Complaint, ModerationLogEntry
from moderation.services import announce
from reviews.models import DialogueMessage, Review, ReviewMedia, ReviewVersion

ANONYMISE = "anonymise"
DELETE = "delete"
MODES = (ANONYMISE, DELETE)
ERASED_BY_REQUEST = "evaluator erasure (R42)"


class ErasureError(Exception):
    pass


class EvaluatorNotFound(ErasureError):
    """Nothing of this evaluator in this company (or shop): answered like a missing object."""


@dataclass(frozen=True)
class ErasureResult:
    invitations: int
    reviews: int
    references: tuple[str, ...]  # the invitations' public ids, pseudonymous


def evaluator_invitations(company_id: int, shop_id, order_id, email, invitation_id=None):
    """The evaluator's invitations in the company (or shop): by order id, address or id."""
    rows = Invitation.objects.for_company(company_id)
    if shop_id is not None:
        rows = rows.filter(shop_id=shop_id)
    match = Q(pk__in=[invitation_id] if invitation_id else [])
    if order_id:
        match |= Q(order__order_id=order_id)
    if email:
        match |= Q(email__iexact=email)
    return rows.filter(match)


def evaluator_reviews(company_id: int, shop_id, invitation_ids, email, review_id=None):
    """The evaluator's reviews: of their invitations, by their address, or by id."""
    rows = Review.objects.for_company(company_id)
    if shop_id is not None:
        rows = rows.filter(shop_id=shop_id)
    match = Q(invitation_id__in=invitation_ids)
    if review_id:
        match |= Q(pk=review_id)
    if email:
        match |= Q(dialogue_email__iexact=email) | Q(author_email__iexact=email)
    return rows.filter(match)


def _erase_review(review: Review, *, mode: str, now) -> None:
    company_id = review.company_id
    for media in ReviewMedia.objects.for_company(company_id).filter(review=review):
        media.file.delete(save=False)
        media.delete()
    ReviewVersion.objects.for_company(company_id).filter(review=review).update(
        comment="", updated_at=now
    )
    DialogueMessage.objects.for_company(company_id).filter(
        thread__review=review, sender=DialogueMessage.Sender.EVALUATOR
    ).update(text="", submitted_text="", updated_at=now)
    changes = {
        "comment": "",
        "display_name": "",
        "dialogue_email": "",
        "author_email": "",
        # The link to the invitation is cut; the flag keeps the review's kind (R24).
        "invitation": None,
        "updated_at": now,
    }
    if mode == DELETE:
        changes.update(status=Review.Status.DELETED, deleted_at=now)
    Review.objects.for_company(company_id).filter(pk=review.pk).update(**changes)


def evaluator_erase(
    *,
    company,
    order_id: str | None = None,
    email: str | None = None,
    mode: str = ANONYMISE,
    actor=None,
    shop=None,
    invitation_id: int | None = None,
    review_id: int | None = None,
) -> ErasureResult:
    """Erase the evaluator's personal data in ``company`` (optionally only in ``shop``).

    The evaluator is named by order id, email address, or (self-service from a signed link in
    an email, ``privacy.tokens``) by one invitation's or review's id. Raises
    ``EvaluatorNotFound`` when nothing matches, so another company's order id changes nothing
    and reads like a missing one.
    """
    if mode not in MODES:
        raise ErasureError(f"mode must be one of {MODES}")
    if not (order_id or email or invitation_id or review_id):
        raise ErasureError("Give an order id or an email address.")
    company_id = getattr(company, "pk", company)
    shop_id = getattr(shop, "pk", shop)
    now = timezone.now()
    with transaction.atomic():
        invitations = list(
            evaluator_invitations(company_id, shop_id, order_id, email, invitation_id)
            .select_for_update()
            .select_related("order")
        )
        reviews = list(
            evaluator_reviews(
                company_id, shop_id, [i.pk for i in invitations], email, review_id
            ).select_for_update()
        )
        if not invitations and not reviews:
            raise EvaluatorNotFound("No invitation or review of this evaluator.")
        invitation_refs = {i.pk: str(i.public_id) for i in invitations}

        # Link requests for these orders (or this address) lose their personal data too.
        requests = LinkRequest.objects.for_company(company_id).filter(
            Q(order_id__in=[i.order_id for i in invitations])
            | (Q(email__iexact=email) if email else Q(pk__in=[]))
        )
        for request in requests.exclude(evidence=""):
            request.evidence.delete(save=False)
        requests.update(email="", message="", evidence="", updated_at=now)

        Invitation.objects.for_company(company_id).filter(
            pk__in=invitation_refs, status=Invitation.Status.SCHEDULED
        ).update(
            status=Invitation.Status.SUPPRESSED,
            suppression_reason=Invitation.SuppressionReason.NO_EMAIL,
        )
        Invitation.objects.for_company(company_id).filter(pk__in=invitation_refs).update(
            email="", first_name="", last_name="", personal_data_erased_at=now, updated_at=now
        )

        # The evaluator's statements on complaints about these reviews, and any complaint they
        # filed themselves, lose their personal data too.
        complaints = Complaint.objects.for_company(company_id)
        complaints.filter(review__in=[r.pk for r in reviews]).update(statement="", updated_at=now)
        if email:
            complaints.filter(complainant_email__iexact=email).update(
                complainant_email="", updated_at=now
            )

        for review in reviews:
            _erase_review(review, mode=mode, now=now)
            log.log_append(
                company_id=company_id,
                shop_id=review.shop_id,
                actor=actor,
                action=ModerationLogEntry.Action.DELETE,
                target_type="review",
                target_id=review.pk,
                justification=ERASED_BY_REQUEST,
                after={
                    "erasure": mode,
                    "review": str(review.public_id),
                    "invitation": invitation_refs.get(review.invitation_id),
                },
            )
            announce(review)
        for invitation in invitations:
            log.log_append(
                company_id=company_id,
                shop_id=invitation.shop_id,
                actor=actor,
                action=ModerationLogEntry.Action.DELETE,
                target_type="invitation",
                target_id=invitation.pk,
                justification=ERASED_BY_REQUEST,
                after={"erasure": mode, "invitation": invitation_refs[invitation.pk]},
            )
    return ErasureResult(
        invitations=len(invitations),
        reviews=len(reviews),
        references=tuple(invitation_refs.values()),
    )
