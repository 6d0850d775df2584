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
