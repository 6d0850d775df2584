"""Customer dialogue (R16, R22, 004 §2.12, §8.3-8.4).

Only when the evaluator left an address for it. The company writes (backend or API); the
evaluator gets each message by email with a link to a page where they read the whole dialogue,
answer, or end it at any time. The company never sees the address. Every message passes the
same automatic check as reviews: clear cases are starred out, unclear ones are held until a
moderator releases them.
"""

from __future__ import annotations

from django.core import signing
from django.db import transaction
from django.utils import timezone

from companies.tenancy import tenant_scope
from moderation import checks
from reviews.models import DialogueMessage, DialogueThread, Review

LINK_SALT = "moderation.dialogue"
LINK_MAX_AGE = 180 * 24 * 60 * 60  # seconds an emailed dialogue link keeps working
MAX_MESSAGE = 5000


class DialogueError(Exception):
    code = "dialogue_error"


class DialogueUnavailable(DialogueError):
    """The evaluator left no address for dialogue, or the review is not published."""

    code = "dialogue_unavailable"


class DialogueEnded(DialogueError):
    code = "dialogue_ended"


def dialogue_available(review: Review) -> bool:
    return bool(review.dialogue_email) and review.status == Review.Status.PUBLISHED


def link_token(thread: DialogueThread) -> str:
    return signing.dumps({"t": thread.pk, "k": thread.company_id}, salt=LINK_SALT)


def thread_from_token(token: str) -> DialogueThread | None:
    try:
        data = signing.loads(token, salt=LINK_SALT, max_age=LINK_MAX_AGE)
    except signing.BadSignature:
        return None
    return (
        DialogueThread.objects.for_company(data["k"])
        .select_related("review", "shop")
        .filter(pk=data["t"])
        .first()
    )


def _message(thread: DialogueThread, *, sender: str, text: str, author=None) -> DialogueMessage:
    text = text.strip()[:MAX_MESSAGE]
    if not text:
        raise DialogueError("A message needs some text.")
    result = checks.check_text(text)
    published = result.decision == checks.PUBLISH
    message = DialogueMessage(
        company_id=thread.company_id,
        shop_id=thread.shop_id,
        thread=thread,
        sender=sender,
        text=result.text,
        submitted_text=text,
        status=DialogueMessage.Status.PUBLISHED if published else DialogueMessage.Status.HELD,
        author=author,
        published_at=timezone.now() if published else None,
    )
    # The moderation app's post_save receiver records which rule fired where.
    message.moderation_check = result
    message.save()
    if published:
        deliver(message)
    return message


def deliver(message: DialogueMessage) -> None:
    """A company's message goes to the evaluator by email once it is published."""
    if message.sender != DialogueMessage.Sender.COMPANY:
        return
    from moderation.tasks import send_dialogue_message

    transaction.on_commit(lambda: send_dialogue_message.delay(message.pk))


def dialogue_company_write(*, review: Review, text: str, author=None) -> DialogueMessage:
    """The company writes to the evaluator; the first message opens the dialogue."""
    with tenant_scope(review.company_id), transaction.atomic():
        review = Review.objects.select_for_update().get(pk=review.pk)
        if not dialogue_available(review):
            raise DialogueUnavailable("The evaluator did not leave an address for dialogue.")
        thread, _created = DialogueThread.objects.get_or_create(
            review=review, defaults={"company_id": review.company_id, "shop_id": review.shop_id}
        )
        if thread.status == DialogueThread.Status.ENDED:
            raise DialogueEnded("The evaluator ended this dialogue.")
        return _message(thread, sender=DialogueMessage.Sender.COMPANY, text=text, author=author)


def dialogue_evaluator_reply(*, thread: DialogueThread, text: str) -> DialogueMessage:
    with tenant_scope(thread.company_id), transaction.atomic():
        thread = DialogueThread.objects.select_for_update().get(pk=thread.pk)
        if thread.status == DialogueThread.Status.ENDED:
            raise DialogueEnded("This dialogue has ended.")
        return _message(thread, sender=DialogueMessage.Sender.EVALUATOR, text=text)


def dialogue_end(*, thread: DialogueThread, by: str) -> DialogueThread:
    """The evaluator may end the dialogue at any time, without reasons (004 §8.3)."""
    with tenant_scope(thread.company_id), transaction.atomic():
        thread = DialogueThread.objects.select_for_update().get(pk=thread.pk)
        if thread.status != DialogueThread.Status.ENDED:
            thread.status, thread.ended_by = DialogueThread.Status.ENDED, by
            thread.ended_at = timezone.now()
            thread.save(update_fields=["status", "ended_by", "ended_at", "updated_at"])
    return thread


def messages_for_evaluator(thread: DialogueThread) -> list[DialogueMessage]:
    """What the evaluator sees: published messages of both sides and their own held ones."""
    return [
        m
        for m in DialogueMessage.objects.for_company(thread.company_id).filter(thread=thread)
        if m.status == DialogueMessage.Status.PUBLISHED
        or (m.sender == DialogueMessage.Sender.EVALUATOR and m.status == m.Status.HELD)
    ]


def messages_for_company(thread: DialogueThread) -> list[DialogueMessage]:
    """What the company sees: published messages of both sides and its own held ones."""
    return [
        m
        for m in DialogueMessage.objects.for_company(thread.company_id).filter(thread=thread)
        if m.status == DialogueMessage.Status.PUBLISHED
        or (m.sender == DialogueMessage.Sender.COMPANY and m.status == m.Status.HELD)
    ]
