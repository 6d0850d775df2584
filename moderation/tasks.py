"""Tasks of the moderation app: they take ids, re-read the rows and are safe to run twice."""

from __future__ import annotations

import smtplib

from celery import shared_task

from moderation import emails, integrity

_TRANSIENT = (
    smtplib.SMTPServerDisconnected,
    smtplib.SMTPConnectError,
    TimeoutError,
    ConnectionError,
)
_EMAIL_TASK = {
    "autoretry_for": _TRANSIENT,
    "retry_backoff": True,
    "retry_jitter": True,
    "max_retries": 5,
}


@shared_task(name="moderation.send_statement_request", **_EMAIL_TASK)
def send_statement_request(complaint_id: int) -> str:
    return emails.statement_request_send(complaint_id=complaint_id)


@shared_task(name="moderation.send_complaint_decision", **_EMAIL_TASK)
def send_complaint_decision(complaint_id: int) -> dict:
    return emails.complaint_decision_send(complaint_id=complaint_id)


@shared_task(name="moderation.send_replacement_offer", **_EMAIL_TASK)
def send_replacement_offer(offer_id: int) -> str:
    return emails.replacement_offer_send(offer_id=offer_id)


@shared_task(name="moderation.send_dialogue_message", **_EMAIL_TASK)
def send_dialogue_message(message_id: int) -> str:
    return emails.dialogue_message_send(message_id=message_id)


@shared_task(name="moderation.integrity_coverage_scan")
def integrity_coverage_scan() -> int:
    """Daily: orders received vs invitations sent, drops in order volume (R23)."""
    return integrity.integrity_coverage_scan()


@shared_task(name="moderation.integrity_signals_purge")
def integrity_signals_purge() -> int:
    """Daily: network hashes and settled signals past their 90 days (R23)."""
    return integrity.integrity_signals_purge()
