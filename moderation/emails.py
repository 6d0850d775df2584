"""Emails of moderation and customer dialogue: statement requests, complaint decisions, offers
to replace a review (R21) and dialogue messages.

Each email is claimed in ``OutboundEmail`` before the SMTP call and stamped after it, with a fixed
Message-ID, so a task that runs twice sends it once (STYLE.md 4). Addresses are read from the
row when sending and never logged (R43). Plain-text templates live in
``templates/emails/moderation/`` and ``templates/emails/dialogue/``.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from companies.models import Membership, Role
from companies.tenancy import tenant_scope
from moderation import complaints, dialogue
from moderation.models import Complaint, OutboundEmail, ReplacementOffer
from moderation.tokens import replacement_token
from reviews.models import DialogueMessage, Review

logger = logging.getLogger(__name__)
Kind = OutboundEmail.Kind
LEASE = datetime.timedelta(minutes=10)  # a claim older than this was left by a crashed worker
LANGUAGES = {"en", "de"}


def _message_id(kind: str, object_id: int) -> str:
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1] or "localhost"
    return f"<moderation-{kind}-{object_id}@{domain}>"


def _claim(kind: str, row) -> OutboundEmail | None:
    now = timezone.now()
    record, created = OutboundEmail.objects.get_or_create(
        kind=kind,
        object_id=row.pk,
        defaults={
            "company_id": row.company_id,
            "shop_id": row.shop_id,
            "claimed_at": now,
            "message_id": _message_id(kind, row.pk),
        },
    )
    if created:
        return record
    if record.status in (OutboundEmail.Status.SENT, OutboundEmail.Status.SKIPPED):
        return None
    if record.status == OutboundEmail.Status.SENDING and record.claimed_at > now - LEASE:
        return None
    taken = OutboundEmail.objects.filter(
        pk=record.pk, status=record.status, claimed_at=record.claimed_at
    ).update(status=OutboundEmail.Status.SENDING, claimed_at=now)
    return record if taken else None


def send_once(kind: str, row, build: Callable[[], EmailMessage | None]) -> str:
    """Send the email ``build()`` makes for ``row`` unless it went out already."""
    record = _claim(kind, row)
    if record is None:
        return "already"
    attempts = record.attempts + 1
    message = build()
    if message is None:
        OutboundEmail.objects.filter(pk=record.pk).update(
            status=OutboundEmail.Status.SKIPPED, attempts=attempts, last_error="no recipient"
        )
        return "skipped"
    message.extra_headers["Message-ID"] = record.message_id
    try:
        message.send()
    except Exception as exc:
        OutboundEmail.objects.filter(pk=record.pk).update(
            status=OutboundEmail.Status.FAILED,
            attempts=attempts,
            last_error=f"{type(exc).__name__}"[:300],
        )
        raise
    OutboundEmail.objects.filter(pk=record.pk).update(
        status=OutboundEmail.Status.SENT, attempts=attempts, sent_at=timezone.now()
    )
    logger.info("moderation email %s sent for %s", kind, row.pk)
    return "sent"


def _language(review: Review) -> str:
    if review.invitation_id is not None:
        locale = review.invitation.order.locale
        if locale in LANGUAGES:
            return locale
    return review.shop.default_locale if review.shop.default_locale in LANGUAGES else "en"


def _render(template: str, context: dict, *, to: list[str], language: str) -> EmailMessage:
    with translation.override(language):
        subject = render_to_string(f"emails/{template}_subject.txt", context)
        body = render_to_string(f"emails/{template}.txt", context)
    return EmailMessage(
        subject=" ".join(subject.split()),
        body=body,
        to=to,
        headers={"Auto-Submitted": "auto-generated"},
    )


def _url(name: str, *args) -> str:
    return settings.SITE_URL + reverse(name, args=args)


def _company_addresses(company_id: int) -> list[str]:
    members = Membership.objects.for_company(company_id).filter(
        role__in=[Role.OWNER, Role.MANAGER], user__is_active=True
    )
    return sorted({m.user.email for m in members.select_related("user")})


# --- The emails -------------------------------------------------------------------------------


def statement_request_send(*, complaint_id: int) -> str:
    company_id = (
        Complaint.objects.unscoped().values_list("company_id", flat=True).get(pk=complaint_id)
    )  # deliberately cross-tenant: the id names the tenant, the rest runs in its scope
    with tenant_scope(company_id):
        complaint = Complaint.objects.select_related("review", "shop").get(pk=complaint_id)
        review = complaint.review

        def build():
            if not review.dialogue_email:
                return None
            context = {
                "shop": complaint.shop,
                "complaint": complaint,
                "review": review,
                "url": _url("moderation:statement", complaints.statement_token(complaint)),
            }
            return _render(
                "moderation/statement_request",
                context,
                to=[review.dialogue_email],
                language=_language(review),
            )

        return send_once(Kind.STATEMENT_REQUEST, complaint, build)


def _decision_context(complaint: Complaint) -> dict:
    return {"shop": complaint.shop, "complaint": complaint, "review": complaint.review}


def complaint_decision_send(*, complaint_id: int) -> dict[str, str]:
    """Both sides are told (R20): the complainant and the evaluator (if reachable)."""
    company_id = (
        Complaint.objects.unscoped().values_list("company_id", flat=True).get(pk=complaint_id)
    )  # deliberately cross-tenant: the id names the tenant, the rest runs in its scope
    with tenant_scope(company_id):
        complaint = Complaint.objects.select_related("review", "shop").get(pk=complaint_id)
        review = complaint.review

        def to_complainant():
            if complaint.source == Complaint.Source.COMPANY:
                recipients = _company_addresses(complaint.company_id)
            else:
                recipients = [complaint.complainant_email] if complaint.complainant_email else []
            if not recipients:
                return None
            return _render(
                "moderation/decision_complainant",
                _decision_context(complaint),
                to=recipients,
                language=complaint.shop.default_locale
                if complaint.shop.default_locale in LANGUAGES
                else "en",
            )

        def to_evaluator():
            if not review.dialogue_email:
                return None
            return _render(
                "moderation/decision_evaluator",
                _decision_context(complaint),
                to=[review.dialogue_email],
                language=_language(review),
            )

        outcome = {
            "complainant": send_once(Kind.DECISION_COMPLAINANT, complaint, to_complainant),
            "evaluator": send_once(Kind.DECISION_EVALUATOR, complaint, to_evaluator),
        }
        if complaint.complainant_email and outcome["complainant"] in ("sent", "already"):
            # The visitor's address had one purpose: hearing the decision.
            Complaint.objects.filter(pk=complaint.pk).update(complainant_email="")
        return outcome


def replacement_offer_send(*, offer_id: int) -> str:
    company_id = (
        ReplacementOffer.objects.unscoped().values_list("company_id", flat=True).get(pk=offer_id)
    )  # deliberately cross-tenant: the id names the tenant, the rest runs in its scope
    with tenant_scope(company_id):
        offer = ReplacementOffer.objects.select_related("review", "shop").get(pk=offer_id)
        review = offer.review

        def build():
            if not review.dialogue_email or offer.used_at is not None:
                return None
            context = {
                "shop": offer.shop,
                "offer": offer,
                "url": _url("moderation:replace", replacement_token(offer)),
            }
            return _render(
                "moderation/replacement_offer",
                context,
                to=[review.dialogue_email],
                language=_language(review),
            )

        return send_once(Kind.REPLACEMENT_OFFER, offer, build)


def dialogue_message_send(*, message_id: int) -> str:
    company_id = (
        DialogueMessage.objects.unscoped().values_list("company_id", flat=True).get(pk=message_id)
    )  # deliberately cross-tenant: the id names the tenant, the rest runs in its scope
    with tenant_scope(company_id):
        message = DialogueMessage.objects.select_related("thread", "thread__review", "shop").get(
            pk=message_id
        )
        thread, review = message.thread, message.thread.review

        def build():
            published = message.status == DialogueMessage.Status.PUBLISHED
            if not (published and review.dialogue_email) or thread.status != thread.Status.OPEN:
                return None
            context = {
                "shop": message.shop,
                "message": message,
                "url": _url("moderation:dialogue", dialogue.link_token(thread)),
            }
            return _render(
                "dialogue/message", context, to=[review.dialogue_email], language=_language(review)
            )

        return send_once(Kind.DIALOGUE_MESSAGE, message, build)
