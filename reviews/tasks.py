"""Tasks of the reviews app: they take ids, re-read the row and are safe to run twice."""

from __future__ import annotations

import smtplib

from celery import shared_task

from reviews import notifications


@shared_task(
    name="reviews.send_review_confirmation",
    autoretry_for=(
        smtplib.SMTPServerDisconnected,
        smtplib.SMTPConnectError,
        TimeoutError,
        ConnectionError,
    ),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
)
def send_review_confirmation(review_id: int) -> bool:
    return notifications.review_confirmation_send(review_id=review_id)


@shared_task(name="reviews.purge_unconfirmed_reviews")
def purge_unconfirmed_reviews() -> int:
    from reviews.services import reviews_purge_unconfirmed

    return reviews_purge_unconfirmed()


@shared_task(name="reviews.screen_submission")
def screen_submission(invitation_id: int, network: str | None = None) -> int:
    """Check and publish or hold a rating link's pending reviews (R17, R23); safe to repeat."""
    from reviews.services_submission import review_screen_submission

    return len(review_screen_submission(invitation_id=invitation_id, network=network))


@shared_task(name="reviews.screen_waiting_submissions")
def screen_waiting_submissions() -> int:
    """Screen the submissions waiting in the broker's list until it is empty (R17)."""
    from reviews.services_submission import reviews_screen_waiting

    return reviews_screen_waiting()


@shared_task(name="reviews.screen_overdue_submissions")
def screen_overdue_submissions() -> int:
    """Backstop (R17): a list nobody was woken for, then submissions still pending."""
    from reviews.services_submission import reviews_screen_overdue, reviews_screen_waiting

    return reviews_screen_waiting() + reviews_screen_overdue()
