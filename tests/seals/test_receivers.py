"""What a review change sets off (R26): caches retired at once, the recompute queued."""

from __future__ import annotations

import logging

import pytest
from celery.signals import before_task_publish

from ekomi.celery import app as celery_app
from reviews.models import Review
from seals import public_cache
from seals.models import SealStatus
from seals.tasks import recompute_shop_seal
from tests import factories
from tests.live.broker import publishing_to
from tests.seals.conftest import announce

pytestmark = pytest.mark.django_db


@pytest.fixture
def published():
    """The tasks this process publishes to the broker: (task name, args)."""
    seen: list[tuple[str, list]] = []

    def record(sender=None, body=None, **kwargs):
        seen.append((sender, list(body[0])))

    before_task_publish.connect(record, weak=False)
    try:
        yield seen
    finally:
        before_task_publish.disconnect(record)


def _merchant_status(shop):
    return SealStatus.objects.for_company(shop.company).filter(shop=shop, product=None).first()


def test_it_queues_the_shops_recompute_and_retires_its_caches_at_once(shop, other_shop, published):
    """R26: a changed review queues ``seals.recompute_shop_seal`` for its shop (the evaluator
    does not wait for it) and retires the shop's cached pages at once; other shops keep theirs;
    the queued task, once run, stores the numbers."""
    factories.ReviewFactory(shop=shop, rating=4)
    key = public_cache.entry_key(shop, surface="seal.svg")
    other_key = public_cache.entry_key(other_shop, surface="seal.svg")

    announce(shop)

    assert [args for name, args in published if name == "seals.recompute_shop_seal"] == [[shop.pk]]
    assert _merchant_status(shop) is None  # not computed inside the request
    assert public_cache.entry_key(shop, surface="seal.svg") != key
    assert public_cache.entry_key(other_shop, surface="seal.svg") == other_key
    recompute_shop_seal(shop.pk)
    status = _merchant_status(shop)
    assert (status.review_count, status.rating_sum) == (1, 4)
    assert _merchant_status(other_shop) is None


def test_it_recomputes_at_once_when_the_broker_is_down(shop, unused_tcp_port, caplog):
    """R26, FA-3: without a broker the recompute runs in the request instead of being lost."""
    factories.ReviewFactory(shop=shop, rating=5)
    celery_app.conf.task_always_eager = False
    with publishing_to(f"redis://127.0.0.1:{unused_tcp_port}/0"), caplog.at_level(logging.WARNING):
        announce(shop)
    status = _merchant_status(shop)
    assert (status.review_count, status.rating_sum) == (1, 5)
    assert "broker is unavailable" in caplog.text


def test_it_is_safe_to_run_the_queued_recompute_twice(shop):
    """R26, STYLE 3: the task is a pure function of the committed reviews."""
    factories.ReviewFactory(shop=shop, rating=3)
    factories.ReviewFactory(shop=shop, rating=5, status=Review.Status.HELD)
    recompute_shop_seal(shop.pk)
    first = _merchant_status(shop)
    recompute_shop_seal(shop.pk)
    second = _merchant_status(shop)
    assert (second.review_count, second.rating_sum, second.updated_at) == (
        1,
        3,
        first.updated_at,
    )
