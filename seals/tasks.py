"""Periodic jobs of the seals app."""

from celery import shared_task

from seals import services


@shared_task(name="seals.recompute_seals")
def recompute_seals() -> int:
    return services.seals_recompute_all()


@shared_task(name="seals.recompute_shop_seal")
def recompute_shop_seal(shop_id: int) -> None:
    services.seal_recompute(shop_id=shop_id)
