"""Data exports (R42, GD-3): a ZIP of all of a company's data, or of one evaluator's.

An owner asks in the backend; the Celery task ``privacy.build_export`` (id only) writes the ZIP
under ``PRIVATE_MEDIA_ROOT/exports/``: one JSON file per model (``<app>.<Model>.json``), the
reviews once more as RFC 4180 CSV with formula neutralisation, and ``media.json`` listing the
uploaded files (names and sizes; the files themselves stay on the platform). Secrets (hashes,
link nonces, stored API answers) are never exported. The file can be downloaded once, by an
owner of the company, and is deleted then; otherwise 7 days after it was built
(``exports_purge``, part of the daily retention job).
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import logging
import os
import zipfile
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import FileField, Q
from django.utils import timezone

from companies.models import Company, Membership
from companies.tenancy import TenantModel
from invitations.models import Invitation, LinkRequest, Order, OrderItem
from moderation import erasure
from moderation.models import Complaint
from privacy.models import DataExport, RetentionSettings
from privacy.selectors import retention_days  # noqa: F401 (the backend page reads it here)
from reviews.models import (
    CompanyComment,
    DialogueMessage,
    DialogueThread,
    Review,
    ReviewMedia,
    ReviewVersion,
)

logger = logging.getLogger(__name__)

EXPORT_DAYS = 7
EXPORT_DIR = "exports"
# Never exported: credentials and keyed hashes (they would help nobody and weaken a secret).
SECRET_FIELDS = frozenset(
    {
        "interface_password_hash",
        "key_hash",
        "token_nonce",
        "token_hash",
        "network_hash",
        "email_digest",
        "password",
    }
)
# Never exported at all: stored API answers (they can hold rating links) and our own exports.
SKIPPED_MODELS = frozenset({"invitations.IdempotencyKey", "privacy.DataExport"})
REVIEW_CSV_FIELDS = (
    "public_id",
    "shop_id",
    "kind",
    "rating",
    "comment",
    "display_name",
    "status",
    "submitted_at",
    "published_at",
)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ExportError(Exception):
    pass


# --- Requests ------------------------------------------------------------------------------


def export_request(
    *, company: Company, user, kind: str, order_id: str = "", email: str = ""
) -> DataExport:
    """Record the request and build the file in the background (R42, GD-3)."""
    from privacy.tasks import build_export

    if kind == DataExport.Kind.EVALUATOR and not (order_id or email):
        raise ExportError("Give an order id or an email address.")
    export = DataExport.objects.for_company(company).create(
        company=company,
        kind=kind,
        requested_by=user,
        subject_order_id=order_id if kind == DataExport.Kind.EVALUATOR else "",
        subject_email=email if kind == DataExport.Kind.EVALUATOR else "",
    )
    transaction.on_commit(lambda: build_export.delay(export.pk))
    # Ids only (R43).
    logger.info("export %s (%s) requested by user %s", export.pk, kind, getattr(user, "pk", None))
    return export


def retention_settings_save(*, company: Company, days: int) -> RetentionSettings:
    row, _created = RetentionSettings.objects.for_company(company).update_or_create(
        company=company, defaults={"invitation_retention_days": days}
    )
    return row


# --- Building -------------------------------------------------------------------------------


def _plain_field_names(model) -> list[str]:
    return [
        field.attname
        for field in model._meta.concrete_fields
        if field.name not in SECRET_FIELDS and field.attname not in SECRET_FIELDS
    ]


def _rows(queryset) -> list[dict]:
    return list(queryset.order_by("pk").values(*_plain_field_names(queryset.model)))


def _media(rows_by_model: dict[str, tuple[type, list[dict]]]) -> list[dict]:
    listed = []
    for label, (model, rows) in rows_by_model.items():
        for field in model._meta.concrete_fields:
            if not isinstance(field, FileField):
                continue
            for row in rows:
                name = row.get(field.attname)
                if not name:
                    continue
                storage = field.storage
                size = storage.size(name) if storage.exists(name) else None
                listed.append({"model": label, "id": row["id"], "file": name, "size": size})
    return listed


def neutralise(value) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (OWASP CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def reviews_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(REVIEW_CSV_FIELDS)
    for row in rows:
        writer.writerow([neutralise(row.get(name)) for name in REVIEW_CSV_FIELDS])
    return out.getvalue()


def _company_rows(company_id: int) -> dict[str, tuple[type, list[dict]]]:
    rows: dict[str, tuple[type, list[dict]]] = {}
    for model in apps.get_models():
        label = model._meta.label
        if not issubclass(model, TenantModel) or model._meta.proxy or label in SKIPPED_MODELS:
            continue
        rows[label] = (model, _rows(model.objects.for_company(company_id)))
    company = Company.objects.filter(pk=company_id)
    rows[Company._meta.label] = (Company, list(company.values(*_plain_field_names(Company))))
    members = Membership.objects.for_company(company_id).values(
        "user_id", "user__email", "user__first_name", "user__last_name", "role"
    )
    rows["companies.User"] = (Membership, list(members))
    return rows


def _evaluator_rows(export: DataExport) -> dict[str, tuple[type, list[dict]]]:
    company_id = export.company_id
    order_id, email = export.subject_order_id or None, export.subject_email or None
    invitations = erasure.evaluator_invitations(company_id, None, order_id, email)
    invitation_ids = list(invitations.values_list("pk", flat=True))
    reviews = erasure.evaluator_reviews(company_id, None, invitation_ids, email)
    review_ids = list(reviews.values_list("pk", flat=True))
    order_ids = list(invitations.values_list("order_id", flat=True))
    if order_id:
        order_ids += list(
            Order.objects.for_company(company_id)
            .filter(order_id=order_id)
            .values_list("pk", flat=True)
        )
    requests = LinkRequest.objects.for_company(company_id).filter(
        Q(order_id__in=order_ids) | (Q(email__iexact=email) if email else Q(pk__in=[]))
    )
    complaints = Complaint.objects.for_company(company_id).filter(
        Q(review_id__in=review_ids)
        | (Q(complainant_email__iexact=email) if email else Q(pk__in=[]))
    )
    querysets = {
        Order: Order.objects.for_company(company_id).filter(pk__in=order_ids),
        OrderItem: OrderItem.objects.for_company(company_id).filter(order_id__in=order_ids),
        Invitation: invitations,
        LinkRequest: requests,
        Review: reviews,
        ReviewMedia: ReviewMedia.objects.for_company(company_id).filter(review_id__in=review_ids),
        ReviewVersion: ReviewVersion.objects.for_company(company_id).filter(
            review_id__in=review_ids
        ),
        CompanyComment: CompanyComment.objects.for_company(company_id).filter(
            review_id__in=review_ids
        ),
        DialogueThread: DialogueThread.objects.for_company(company_id).filter(
            review_id__in=review_ids
        ),
        DialogueMessage: DialogueMessage.objects.for_company(company_id).filter(
            thread__review_id__in=review_ids
        ),
        Complaint: complaints,
    }
    return {model._meta.label: (model, _rows(qs)) for model, qs in querysets.items()}


def _zip_bytes(rows_by_model: dict[str, tuple[type, list[dict]]], about: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("export.json", json.dumps(about, cls=DjangoJSONEncoder, indent=2))
        for label, (_model, rows) in sorted(rows_by_model.items()):
            archive.writestr(
                f"{label}.json",
                json.dumps(rows, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False),
            )
        review_rows = rows_by_model.get(Review._meta.label, (Review, []))[1]
        archive.writestr("reviews.csv", reviews_csv(review_rows))
        media = _media(rows_by_model)
        archive.writestr("media.json", json.dumps(media, cls=DjangoJSONEncoder, indent=2))
    return buffer.getvalue()


def export_path(export: DataExport) -> Path:
    return Path(settings.PRIVATE_MEDIA_ROOT) / export.file_path


def export_build(*, export_id: int, now: datetime.datetime | None = None) -> DataExport | None:
    """Write the export's ZIP; safe to run twice (a built export is left alone)."""
    now = now or timezone.now()
    # Deliberately cross-tenant: the task names the export by id only.
    export = DataExport.objects.unscoped().filter(pk=export_id).first()
    if export is None or export.status != DataExport.Status.PENDING:
        return export
    if export.kind == DataExport.Kind.COMPANY:
        rows = _company_rows(export.company_id)
        found = True
    else:
        rows = _evaluator_rows(export)
        found = bool(rows[Invitation._meta.label][1] or rows[Review._meta.label][1])
    about = {
        "kind": export.kind,
        "company": export.company_id,
        "export": str(export.public_id),
        "created_at": now,
        "format": "one JSON file per model; reviews.csv (RFC 4180); media.json lists files",
    }
    update = {
        "subject_order_id": "",
        "subject_email": "",
        "ready_at": now,
        "expires_at": now + datetime.timedelta(days=EXPORT_DAYS),
    }
    if found:
        relative = f"{EXPORT_DIR}/{export.company_id}/{export.public_id}.zip"
        target = Path(settings.PRIVATE_MEDIA_ROOT) / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        data = _zip_bytes(rows, about)
        temporary = target.with_suffix(".part")
        temporary.write_bytes(data)
        os.chmod(temporary, 0o600)
        temporary.replace(target)
        update.update(status=DataExport.Status.READY, file_path=relative, size=len(data))
    else:
        update.update(status=DataExport.Status.EMPTY)
    DataExport.objects.unscoped().filter(pk=export.pk, status=DataExport.Status.PENDING).update(
        **update
    )
    logger.info("export %s built: %s", export.pk, update["status"])
    export.refresh_from_db()
    return export


# --- Download and expiry --------------------------------------------------------------------


def export_take(*, export: DataExport, user, now: datetime.datetime | None = None):
    """Open the file for its one download and delete it from disk at once.

    Returns an open binary file (the bytes stay readable until it is closed) or None when the
    export is no longer downloadable.
    """
    now = now or timezone.now()
    with transaction.atomic():
        claimed = (
            DataExport.objects.for_company(export.company_id)
            .filter(pk=export.pk, status=DataExport.Status.READY, expires_at__gt=now)
            .update(status=DataExport.Status.DOWNLOADED, downloaded_at=now, updated_at=now)
        )
        if not claimed:
            return None
        path = export_path(export)
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            return None
        path.unlink(missing_ok=True)
    logger.info("export %s downloaded by user %s", export.pk, getattr(user, "pk", None))
    return handle


def exports_purge(*, now: datetime.datetime | None = None) -> int:
    """Delete export files 7 days after they were built (and any whose export is gone)."""
    now = now or timezone.now()
    # Deliberately cross-tenant: the retention sweep covers every company.
    exports = DataExport.objects.unscoped()
    # A request whose build never ran loses its subject after the same 7 days.
    count = exports.filter(
        status=DataExport.Status.PENDING, created_at__lte=now - datetime.timedelta(EXPORT_DAYS)
    ).update(status=DataExport.Status.EXPIRED, subject_order_id="", subject_email="")
    expired = exports.filter(status=DataExport.Status.READY, expires_at__lte=now)
    for export in expired:
        export_path(export).unlink(missing_ok=True)
        count += (
            DataExport.objects.unscoped()
            .filter(pk=export.pk, status=DataExport.Status.READY)
            .update(status=DataExport.Status.EXPIRED, updated_at=now)
        )
    return count


def exports_delete_files(*, company_id: int) -> int:
    """Offboarding: every export file of the company goes with its rows."""
    removed = 0
    for export in DataExport.objects.for_company(company_id).exclude(file_path=""):
        path = export_path(export)
        if path.exists():
            path.unlink()
            removed += 1
    return removed
