"""Point this process's Celery publisher at another broker for a while (a live worker's Redis
database, or a dead port to play a Redis outage)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from ekomi.celery import app as celery_app


def _switch(url: str) -> None:
    celery_app.conf.broker_url = url
    # Celery caches the pools of the old URL; forget them (kombu keeps them per URL for reuse).
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@contextlib.contextmanager
def publishing_to(url: str) -> Iterator[None]:
    previous = celery_app.conf.broker_url
    _switch(url)
    try:
        yield
    finally:
        _switch(previous)
