"""Factories for moderation, company comments and customer dialogue (STYLE.md 9).

Like ``tests.factories``, each keeps its whole object graph inside one company.
"""

from __future__ import annotations

import datetime

import factory
from django.utils import timezone

from moderation import log
from moderation.models import (
    Complaint,
    IntegritySignal,
    ModerationFinding,
    NetworkSighting,
    OutboundEmail,
    ReplacementOffer,
)
from reviews.models import CompanyComment, DialogueMessage, DialogueThread, Review
from tests import factories


class HeldReviewFactory(factories.ReviewFactory):
    status = Review.Status.HELD
    published_at = None


class CompanyCommentFactory(factories.ShopOwnedFactory):
    class Meta:
        model = CompanyComment

    review = factory.SubFactory(factories.ReviewFactory, shop=factory.SelfAttribute("..shop"))
    text = "Thank you for your kind words."
    submitted_text = factory.SelfAttribute("text")
    status = CompanyComment.Status.PUBLISHED
    published_at = factory.LazyFunction(timezone.now)


class DialogueThreadFactory(factories.ShopOwnedFactory):
    class Meta:
        model = DialogueThread

    review = factory.SubFactory(
        factories.ReviewFactory,
        shop=factory.SelfAttribute("..shop"),
        dialogue_email="kim.dialogue@example.net",
    )


class DialogueMessageFactory(factories.ShopOwnedFactory):
    class Meta:
        model = DialogueMessage

    thread = factory.SubFactory(DialogueThreadFactory, shop=factory.SelfAttribute("..shop"))
    sender = DialogueMessage.Sender.COMPANY
    text = "Could you tell us more about the parcel?"
    submitted_text = factory.SelfAttribute("text")


class ComplaintFactory(factories.ShopOwnedFactory):
    class Meta:
        model = Complaint

    review = factory.SubFactory(factories.ReviewFactory, shop=factory.SelfAttribute("..shop"))
    source = Complaint.Source.COMPANY
    reason = Complaint.ReasonCode.UNTRUE
    explanation = "We never sold this product."


class IntegritySignalFactory(factories.ShopOwnedFactory):
    class Meta:
        model = IntegritySignal

    review = factory.SubFactory(HeldReviewFactory, shop=factory.SelfAttribute("..shop"))
    kind = IntegritySignal.Kind.COMPANY_DOMAIN
    explanation = "The evaluator writes from the company's own email domain."
    held = True


class ModerationFindingFactory(factories.ShopOwnedFactory):
    class Meta:
        model = ModerationFinding

    review = factory.SubFactory(factories.ReviewFactory, shop=factory.SelfAttribute("..shop"))
    rule = "profanity"
    start = 0
    end = 5


class NetworkSightingFactory(factories.ShopOwnedFactory):
    class Meta:
        model = NetworkSighting

    source = NetworkSighting.Source.REVIEW
    network_hash = factory.Sequence(lambda n: f"{n:064x}")
    seen_at = factory.LazyFunction(timezone.now)


class OutboundEmailFactory(factories.ShopOwnedFactory):
    class Meta:
        model = OutboundEmail

    kind = OutboundEmail.Kind.DIALOGUE_MESSAGE
    object_id = factory.Sequence(lambda n: 10_000 + n)
    status = OutboundEmail.Status.SENT
    message_id = factory.LazyAttribute(lambda o: f"<moderation-{o.kind}-{o.object_id}@test>")


class ReplacementOfferFactory(factories.ShopOwnedFactory):
    class Meta:
        model = ReplacementOffer

    review = factory.SubFactory(
        factories.ReviewFactory,
        shop=factory.SelfAttribute("..shop"),
        status=Review.Status.DELETED,
        dialogue_email="kim.dialogue@example.net",
    )
    cause = ReplacementOffer.Cause.DELETED
    expires_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=30))


def log_entry(shop, **fields):
    """A real chained entry (the log has no factory: only ``log_append`` writes it)."""
    defaults = {
        "company_id": shop.company_id,
        "shop_id": shop.pk,
        "action": "publish",
        "target_type": "review",
        "target_id": 1,
    }
    return log.log_append(**{**defaults, **fields})
