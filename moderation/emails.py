"""Emails of moderation and customer dialogue: statement requests, complaint decisions, offers
to replace a review (R21) and dialogue messages.

Each email is claimed in ``OutboundEmail`` before the SMTP call and stamped after it, with a fixed
Message-ID, so a task that runs twice sends it once (STYLE.md 4). Addresses are read from the
row when sending and never logged (R43). Plain-text templates live in
``templates/emails/moderation/`` and ``templates/emails/dialogue/``.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from companies.models import Role
from companies.outbox import company_addresses
from companies.tenancy import tenant_scope
from ekomi import outbox
from moderation import complaints, dialogue
from moderation.models import Complaint, OutboundEmail, ReplacementOffer
from moderation.tokens import replacement_token
from privacy.tokens import erasure_url
from reviews.models import DialogueMessage, Review

Kind = OutboundEmail.Kind
LANGUAGES = {"en", "de"}


def _message_id(kind: str, object_id: int) -> str:
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1] or "localhost"
    return f"<moderation-{kind}-{object_id}@{domain}>"


def send_once(kind: str, row, build: Callable[[], EmailMessage | None]) -> str:
    """Send the email ``build()`` makes for ``row`` unless it went out already."""
    return outbox.send_once(
        OutboundEmail,
        lookup={"kind": kind, "object_id": row.pk},
        defaults={
            "company_id": row.company_id,
            "shop_id": row.shop_id,
            "message_id": _message_id(kind, row.pk),
        },
        build=build,
    )


def _language(review: Review) -> str:
    if review.invitation_id is not None:
        locale = review.invitation.order.locale
        if locale in LANGUAGES:
            return locale
    return review.shop.default_locale if review.shop.default_locale in LANGUAGES else "en"


def _render(
    template: str, context: dict, *, to: list[str], language: str, review: Review | None = None
) -> EmailMessage:
    if review is not None:
        # R42, GD-1: every email to an evaluator links to erasing their data.
        context = {**context, "erasure_link": erasure_url(review=review)}
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
                review=review,
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
                recipients = company_addresses(complaint.company_id, (Role.OWNER, Role.MANAGER))
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
                review=review,
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
                review=review,
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
                "dialogue/message",
                context,
                to=[review.dialogue_email],
                language=_language(review),
                review=review,
            )

        return send_once(Kind.DIALOGUE_MESSAGE, message, build)
