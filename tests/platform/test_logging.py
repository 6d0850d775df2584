"""Logs never carry secrets, rating tokens or evaluator emails (R43, AU-4, AU-6)."""

from __future__ import annotations

import logging

from ekomi.logging import RedactSecretsFilter, redact


def test_it_redacts_interface_credentials_keys_tokens_and_emails():
    line = (
        "GET /v3/putOrder?auth=123456|s3cretPW&interface_pw=pw2&order_id=7 "
        "Authorization: Bearer ek_1234abcd_SECRETSECRET /r/AbCdEfGhIjKlMnOpQrStUv/ "
        "customer jane.doe+x@example.org"
    )
    cleaned = redact(line)
    for secret in ("s3cretPW", "pw2", "SECRETSECRET", "AbCdEfGhIjKlMnOpQrStUv", "jane.doe"):
        assert secret not in cleaned
    assert "order_id=7" in cleaned


def test_it_filters_log_records_before_any_handler_sees_them():
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "sent to %s with token=%s", ("a@b.example", "abc"), None
    )
    assert RedactSecretsFilter().filter(record) is True
    assert record.getMessage() == "sent to [email] with token=[redacted]"


def test_it_redacts_the_celery_workers_own_log_handlers():
    """R43: Celery installs its own handlers in the worker; they get the filter too."""
    import io

    from celery.signals import after_setup_logger

    stream = io.StringIO()
    logger = logging.getLogger("test.celery.worker")
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    try:
        after_setup_logger.send(sender=None, logger=logger, loglevel=logging.INFO)
        logger.warning("delivery to jane@example.org failed")
    finally:
        logger.removeHandler(handler)
    assert "jane@example.org" not in stream.getvalue()
    assert "[email]" in stream.getvalue()
