"""The workbench's actions (R18-R23): one form, parsed here, each action a service call.

Kept apart from ``moderation.admin`` so the admin module stays about pages and permissions.
Every target (media, comment, message, signal, complaint) must belong to the review whose page
the form was posted from.
"""

from __future__ import annotations

from django import forms

from moderation import complaints as complaint_services
from moderation import services
from moderation.models import Complaint, IntegritySignal, ModerationLogEntry, Reason
from moderation.services import ModerationError
from reviews.models import CompanyComment, DialogueMessage, Review, ReviewMedia

Action = ModerationLogEntry.Action


class ReviewActionForm(forms.Form):
    """One form for every action of the workbench; each service checks what it needs."""

    action = forms.CharField()
    target = forms.IntegerField(required=False)
    reason = forms.ChoiceField(choices=[("", "-"), *Reason.choices], required=False)
    justification = forms.CharField(required=False, max_length=5000)
    fragment = forms.CharField(required=False, strip=False, max_length=5000)
    occurrence = forms.IntegerField(required=False, min_value=1)
    outcome = forms.ChoiceField(choices=Complaint.Outcome.choices, required=False)


def _span(text: str, data: dict) -> tuple[int, int]:
    return services.span_of(text, data["fragment"] or "", data["occurrence"] or 1)


def _owned(model, target: int | None, **lookup):
    """The target row of an action, only if it belongs to this review."""
    # Deliberately cross-tenant: staff act on any company's review; the review narrows it.
    row = model.objects.unscoped().filter(pk=target, **lookup).first()
    if row is None:
        raise ModerationError("That item does not belong to this review.")
    return row


def _review_actions(review: Review, data: dict, actor) -> str:
    action, reason, note = data["action"], data["reason"] or "", data["justification"] or ""
    rid = review.pk
    if action == "publish":
        services.review_publish(review_id=rid, actor=actor, justification=note)
    elif action == "obscure":
        start, end = _span(review.comment, data)
        services.review_obscure(
            review_id=rid,
            actor=actor,
            start=start,
            end=end,
            reason=reason or Reason.REVIEW_CONDITIONS,
            justification=note,
        )
    elif action == "unpublish":
        services.review_unpublish(review_id=rid, actor=actor, reason=reason, justification=note)
    elif action == "delete":
        services.review_delete(review_id=rid, actor=actor, reason=reason, justification=note)
    elif action == "restore":
        services.review_restore(review_id=rid, actor=actor, justification=note)
    else:
        return ""
    return f"review {action}"


def _media_actions(review: Review, data: dict, actor) -> str:
    action = data["action"]
    if action not in ("media_publish", "media_reject"):
        return ""
    media = _owned(ReviewMedia, data["target"], review=review)
    if action == "media_publish":
        services.media_publish(media_id=media.pk, actor=actor)
    else:
        services.media_reject(
            media_id=media.pk,
            actor=actor,
            reason=data["reason"] or "",
            justification=data["justification"] or "",
        )
    return f"{action} {media.pk}"


def _comment_and_message_actions(review: Review, data: dict, actor) -> str:
    action, note = data["action"], data["justification"] or ""
    if action in (Action.COMMENT_PUBLISH, Action.COMMENT_OBSCURE, Action.COMMENT_REMOVE):
        comment = _owned(CompanyComment, data["target"], review=review)
        span = _span(comment.text, data) if action == Action.COMMENT_OBSCURE else None
        services.comment_moderate(
            comment_id=comment.pk,
            actor=actor,
            action=action,
            span=span,
            reason=data["reason"] or "",
            justification=note,
        )
        return f"{action} {comment.pk}"
    if action in (Action.MESSAGE_RELEASE, Action.MESSAGE_REJECT):
        message = _owned(DialogueMessage, data["target"], thread__review=review)
        services.message_moderate(
            message_id=message.pk,
            actor=actor,
            release=action == Action.MESSAGE_RELEASE,
            justification=note,
        )
        return f"{action} {message.pk}"
    return ""


def _signal_and_complaint_actions(review: Review, data: dict, actor) -> str:
    action, note = data["action"], data["justification"] or ""
    if action in (Action.SIGNAL_DISMISS, Action.SIGNAL_CONFIRM):
        signal = _owned(IntegritySignal, data["target"], review=review)
        services.signal_resolve(
            signal_id=signal.pk, actor=actor, confirmed=action == Action.SIGNAL_CONFIRM, note=note
        )
        return f"{action} {signal.pk}"
    if action == Action.COMPLAINT_STATEMENT:
        complaint = _owned(Complaint, data["target"], review=review)
        complaint_services.complaint_request_statement(complaint_id=complaint.pk, actor=actor)
        return f"{action} {complaint.pk}"
    if action == Action.COMPLAINT_DECIDE:
        complaint = _owned(Complaint, data["target"], review=review)
        outcome = data["outcome"] or ""
        span = _span(review.comment, data) if outcome == Complaint.Outcome.OBSCURED else None
        complaint_services.complaint_decide(
            complaint_id=complaint.pk,
            actor=actor,
            outcome=outcome,
            reason=data["reason"] or "",
            justification=note,
            span=span,
        )
        return f"{action} {complaint.pk}: {outcome}"
    return ""


ACTION_GROUPS = (
    _review_actions,
    _media_actions,
    _comment_and_message_actions,
    _signal_and_complaint_actions,
)


def take_action(review: Review, data: dict, actor) -> str:
    """Run the posted action; what was done, or "" for an unknown action."""
    for group in ACTION_GROUPS:
        done = group(review, data, actor)
        if done:
            return done
    return ""
