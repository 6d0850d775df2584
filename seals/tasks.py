"""Jobs of the seals app: the nightly sweep, and one shop's recompute after its reviews changed."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from seals import services


@shared_task(name="seals.recompute_seals")
def recompute_seals() -> int:
    return services.seals_recompute_all()


@shared_task(
    name="seals.recompute_shop_seal",
    # Pure function of the committed reviews (safe twice); a lost database retries it.
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    retry_backoff_max=120,
    max_retries=5,
)
def recompute_shop_seal(shop_id: int) -> None:
    """R26: queued by ``seals.receivers.review_changed``; takes only the shop's id."""
    services.seal_recompute(shop_id=shop_id)
