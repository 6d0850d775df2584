"""Celery tasks of the privacy app: id-only, safe to run twice (STYLE.md 2-4)."""

from celery import shared_task

from privacy import services


@shared_task(name="privacy.build_export")
def build_export(export_id: int) -> str | None:
    export = services.export_build(export_id=export_id)
    return export.status if export else None
