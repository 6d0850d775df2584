"""Complaints about reviews (R20, 004 §5.4, §5.8).

Companies complain through the API (and later the backend), anyone else through the form on the
certificate page. The review stays visible while a complaint is open. A company's complaint more
than 12 months after publication is accepted and marked out of time. A moderator may ask the
evaluator for a statement through an emailed link, then decides; the decision is recorded in
the moderation log and both sides are told by email.
"""

from __future__ import annotations

from dateutil.relativedelta import relativedelta
from django.core import signing
from django.db import transaction
from django.utils import timezone

from companies.tenancy import tenant_scope
from moderation import log, services
from moderation.models import Complaint, ModerationLogEntry, Reason
from moderation.services import ModerationError, company_of
from reviews.models import Review

Action = ModerationLogEntry.Action
STATEMENT_SALT = "moderation.statement"
STATEMENT_MAX_AGE = 30 * 24 * 60 * 60  # seconds the evaluator has to answer


class ReviewNotOpenToComplaints(ModerationError):
    """Only a published review can be complained about."""


def is_out_of_time(review: Review, *, source: str, now) -> bool:
    """R20 / 004 §5.8: a company's complaint more than 12 months after publication."""
    if source != Complaint.Source.COMPANY or review.published_at is None:
        return False
    return now > review.published_at + relativedelta(months=12)


def complaint_file(
    *,
    review: Review,
    source: str,
    reason: str,
    explanation: str = "",
    complainant_email: str = "",
    filed_by=None,
) -> Complaint:
    """Record a complaint. It never hides the review while it is open (R20)."""
    now = timezone.now()
    with tenant_scope(review.company_id), transaction.atomic():
        review = Review.objects.get(pk=review.pk)
        if review.status != Review.Status.PUBLISHED:
            raise ReviewNotOpenToComplaints("This review is not published.")
        return Complaint.objects.create(
            company_id=review.company_id,
            shop_id=review.shop_id,
            review=review,
            source=source,
            reason=reason,
            explanation=explanation.strip(),
            complainant_email=complainant_email.strip()
            if source == Complaint.Source.PUBLIC
            else "",
            filed_by=filed_by,
            out_of_time=is_out_of_time(review, source=source, now=now),
        )


def statement_token(complaint: Complaint) -> str:
    return signing.dumps({"c": complaint.pk, "k": complaint.company_id}, salt=STATEMENT_SALT)


def complaint_from_statement_token(token: str) -> Complaint | None:
    try:
        data = signing.loads(token, salt=STATEMENT_SALT, max_age=STATEMENT_MAX_AGE)
    except signing.BadSignature:
        return None
    return (
        Complaint.objects.for_company(data["k"])
        .select_related("review", "shop")
        .filter(pk=data["c"])
        .first()
    )


def _locked(complaint_id: int) -> Complaint:
    return Complaint.objects.select_for_update().select_related("review").get(pk=complaint_id)


def complaint_request_statement(*, complaint_id: int, actor) -> Complaint:
    """Ask the evaluator for a statement (004 §5.4: the parties' comments are considered)."""
    from moderation.tasks import send_statement_request

    with tenant_scope(company_of(Complaint, complaint_id)), transaction.atomic():
        complaint = _locked(complaint_id)
        if complaint.status == Complaint.Status.DECIDED:
            raise ModerationError("This complaint is already decided.")
        if not complaint.review.dialogue_email:
            raise ModerationError("The evaluator left no address: nobody can be asked.")
        before = {"status": complaint.status}
        complaint.status = Complaint.Status.STATEMENT_REQUESTED
        complaint.statement_requested_at = timezone.now()
        complaint.save(update_fields=["status", "statement_requested_at", "updated_at"])
        log.log_append(
            company_id=complaint.company_id,
            shop_id=complaint.shop_id,
            actor=actor,
            action=Action.COMPLAINT_STATEMENT,
            target_type="complaint",
            target_id=complaint.pk,
            before=before,
            after={"status": complaint.status, "review": complaint.review_id},
        )
        transaction.on_commit(lambda: send_statement_request.delay(complaint.pk))
    return complaint


def complaint_statement_submit(*, token: str, statement: str) -> Complaint | None:
    """The evaluator's answer through the emailed link; None if the link is not valid."""
    complaint = complaint_from_statement_token(token)
    if complaint is None or complaint.status != Complaint.Status.STATEMENT_REQUESTED:
        return None
    with tenant_scope(complaint.company_id), transaction.atomic():
        complaint = _locked(complaint.pk)
        if complaint.status != Complaint.Status.STATEMENT_REQUESTED:
            return None
        complaint.statement = statement.strip()[:5000]
        complaint.statement_received_at = timezone.now()
        complaint.status = Complaint.Status.OPEN
        complaint.save()
    return complaint


def _apply_outcome(complaint: Complaint, *, outcome, actor, reason, justification, span) -> None:
    Outcome = Complaint.Outcome
    review_id = complaint.review_id
    if outcome == Outcome.OBSCURED:
        if span is None:
            raise ModerationError("Select the part of the review to star out.")
        services.review_obscure(
            review_id=review_id,
            actor=actor,
            start=span[0],
            end=span[1],
            reason=reason or Reason.REVIEW_CONDITIONS,
            justification=justification,
        )
    elif outcome == Outcome.UNPUBLISHED:
        services.review_unpublish(
            review_id=review_id, actor=actor, reason=reason, justification=justification
        )
    elif outcome == Outcome.DELETED:
        services.review_delete(
            review_id=review_id, actor=actor, reason=reason, justification=justification
        )
    elif outcome != Outcome.REJECTED:
        raise ModerationError("Choose a decision.")


def complaint_decide(
    *,
    complaint_id: int,
    actor,
    outcome: str,
    reason: str = "",
    justification: str = "",
    span: tuple[int, int] | None = None,
) -> Complaint:
    """Decide a complaint: reject it, or uphold it by starring out a span, unpublishing or
    deleting the review (each with its own log entry). Both sides are told by email."""
    from moderation.tasks import send_complaint_decision

    if not justification.strip():
        raise ModerationError("Write down the reasons for the decision.")
    with tenant_scope(company_of(Complaint, complaint_id)), transaction.atomic():
        complaint = _locked(complaint_id)
        if complaint.status == Complaint.Status.DECIDED:
            raise ModerationError("This complaint is already decided.")
        _apply_outcome(
            complaint,
            outcome=outcome,
            actor=actor,
            reason=reason,
            justification=justification.strip(),
            span=span,
        )
        before = {"status": complaint.status}
        complaint.status, complaint.outcome = Complaint.Status.DECIDED, outcome
        complaint.decision_note = justification.strip()
        complaint.decided_by, complaint.decided_at = actor, timezone.now()
        complaint.save()
        log.log_append(
            company_id=complaint.company_id,
            shop_id=complaint.shop_id,
            actor=actor,
            action=Action.COMPLAINT_DECIDE,
            target_type="complaint",
            target_id=complaint.pk,
            reason=reason,
            justification=complaint.decision_note,
            before=before,
            after={
                "status": complaint.status,
                "outcome": outcome,
                "review": complaint.review_id,
                "out_of_time": complaint.out_of_time,
            },
        )
        transaction.on_commit(lambda: send_complaint_decision.delay(complaint.pk))
    return complaint
