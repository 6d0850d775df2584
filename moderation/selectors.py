"""Reads for moderators: the queue, oldest first, and everything about one review (R17-R23).

Staff work across companies: these read through ``unscoped()`` on purpose (STYLE.md 5).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import (
    Case,
    DateTimeField,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Least

from moderation.models import (
    Complaint,
    IntegritySignal,
    ModerationFinding,
    ModerationLogEntry,
    ReplacementOffer,
)
from reviews.models import (
    CompanyComment,
    DialogueMessage,
    Review,
    ReviewMedia,
    ReviewVersion,
)

NEVER = datetime.datetime(9999, 1, 1, tzinfo=datetime.UTC)
QUEUE_REASONS = {
    "held_since": "review held",
    "media_since": "photo or video to check",
    "complaint_since": "open complaint",
    "signal_since": "integrity signal",
    "comment_since": "company comment held",
    "message_since": "dialogue message held",
}


def _oldest(queryset: QuerySet, field: str = "created_at") -> Subquery:
    return Subquery(queryset.order_by(field).values(field)[:1], output_field=DateTimeField())


def queue(reviews: QuerySet[Review]) -> QuerySet[Review]:
    """Reviews waiting for a moderator, each with the moment it started waiting, oldest first.

    A review waits while it is held, has a photo or video to check, an open complaint, an open
    integrity signal, a held company comment or a held dialogue message.
    """
    # Deliberately cross-tenant: the staff queue covers every company.
    here = {"review": OuterRef("pk")}
    annotated = reviews.annotate(
        held_since=Case(
            When(status=Review.Status.HELD, then=F("updated_at")), output_field=DateTimeField()
        ),
        media_since=_oldest(
            ReviewMedia.objects.unscoped().filter(status=ReviewMedia.Status.PENDING, **here)
        ),
        complaint_since=_oldest(
            Complaint.objects.unscoped().filter(~Q(status=Complaint.Status.DECIDED), **here)
        ),
        signal_since=_oldest(
            IntegritySignal.objects.unscoped().filter(status=IntegritySignal.Status.OPEN, **here)
        ),
        comment_since=_oldest(
            CompanyComment.objects.unscoped().filter(status=CompanyComment.Status.HELD, **here),
            "updated_at",
        ),
        message_since=_oldest(
            DialogueMessage.objects.unscoped().filter(
                status=DialogueMessage.Status.HELD, thread__review=OuterRef("pk")
            )
        ),
    )
    # LEAST ignores NULL on Postgres but not on SQLite: every part gets a far-future default.
    waiting = Least(*(Coalesce(F(name), Value(NEVER)) for name in QUEUE_REASONS))
    return (
        annotated.annotate(waiting_since=waiting)
        .filter(waiting_since__lt=NEVER)
        .order_by("waiting_since", "pk")
    )


def queue_reasons(item: Review) -> list[str]:
    return [label for name, label in QUEUE_REASONS.items() if getattr(item, name, None)]


@dataclass(frozen=True)
class FindingView:
    finding: ModerationFinding
    excerpt: str


def _finding_views(review: Review, versions: list[ReviewVersion]) -> list[FindingView]:
    texts = {v.version: v.comment for v in versions}
    findings = ModerationFinding.objects.unscoped().filter(review=review).order_by("-version")
    return [
        FindingView(f, texts.get(f.version, "")[f.start : f.end] or "(text no longer kept)")
        for f in findings
    ]


def _log_for(review: Review, complaint_ids, media_ids, comment_ids) -> QuerySet:
    targets = (
        Q(target_type="review", target_id=review.pk)
        | Q(target_type="complaint", target_id__in=complaint_ids)
        | Q(target_type="media", target_id__in=media_ids)
        | Q(target_type="company_comment", target_id__in=comment_ids)
    )
    return (
        ModerationLogEntry.objects.unscoped()
        .filter(targets, company_id=review.company_id)
        .select_related("actor")
        .order_by("-id")
    )


def workbench(review: Review) -> dict:
    """Everything a moderator needs about one review: its history, what the check found, the
    signals, media, complaints, the company comment, held dialogue messages and the log."""
    # Deliberately cross-tenant reads: staff open any company's review.
    versions = list(ReviewVersion.objects.unscoped().filter(review=review).order_by("version"))
    complaints = list(
        Complaint.objects.unscoped().filter(review=review).select_related("decided_by")
    )
    media = list(ReviewMedia.objects.unscoped().filter(review=review).order_by("created_at"))
    comment = CompanyComment.objects.unscoped().filter(review=review).first()
    held_messages = list(
        DialogueMessage.objects.unscoped().filter(
            thread__review=review, status=DialogueMessage.Status.HELD
        )
    )
    return {
        "versions": versions,
        "findings": _finding_views(review, versions),
        "signals": list(IntegritySignal.objects.unscoped().filter(review=review)),
        "media": media,
        "complaints": complaints,
        "comment": comment,
        "comment_findings": list(
            ModerationFinding.objects.unscoped().filter(company_comment=comment)
        )
        if comment
        else [],
        "held_messages": held_messages,
        "offers": list(ReplacementOffer.objects.unscoped().filter(review=review)),
        "log_entries": list(
            _log_for(
                review,
                [c.pk for c in complaints],
                [m.pk for m in media],
                [comment.pk] if comment else [],
            )[:50]
        ),
    }
