"""Data exports (R42, GD-3) and each company's retention period for invitation data (R11)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from companies.tenancy import TenantModel

RETENTION_MIN_DAYS = 7
RETENTION_MAX_DAYS = 90


class DataExport(TenantModel):
    """One ZIP of a company's data, or of one evaluator's, built in the background.

    The file lies under ``PRIVATE_MEDIA_ROOT``; it can be downloaded once by an owner of the
    company and is deleted then, or 7 days after it was built (``privacy.services``).
    """

    class Kind(models.TextChoices):
        COMPANY = "company", _("all data of the company")
        EVALUATOR = "evaluator", _("one evaluator's data")

    class Status(models.TextChoices):
        PENDING = "pending", _("being prepared")
        READY = "ready", _("ready to download")
        DOWNLOADED = "downloaded", _("downloaded and deleted")
        EXPIRED = "expired", _("expired and deleted")
        EMPTY = "empty", _("nothing found")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who an evaluator export is about; cleared as soon as the file is built (R42).
    subject_order_id = models.CharField(max_length=255, blank=True)
    subject_email = models.EmailField(blank=True)
    file_path = models.CharField(
        max_length=200, blank=True, help_text="relative to PRIVATE_MEDIA_ROOT"
    )
    size = models.PositiveBigIntegerField(default=0)
    ready_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    downloaded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["id", "company"], name="dataexport_id_company_key"),
        ]

    def __str__(self) -> str:
        return f"Export {self.public_id} ({self.kind}, {self.status})"


class RetentionSettings(TenantModel):
    """How long a company keeps invitation and link-request personal data (R11)."""

    invitation_retention_days = models.PositiveSmallIntegerField(
        default=30,
        validators=[
            MinValueValidator(RETENTION_MIN_DAYS),
            MaxValueValidator(RETENTION_MAX_DAYS),
        ],
        help_text="days after the link expired or was used",
    )

    class Meta:
        verbose_name_plural = "retention settings"
        constraints = [
            models.UniqueConstraint(fields=["company"], name="retentionsettings_one_per_company"),
            models.CheckConstraint(
                condition=models.Q(
                    invitation_retention_days__gte=RETENTION_MIN_DAYS,
                    invitation_retention_days__lte=RETENTION_MAX_DAYS,
                ),
                name="retentionsettings_days_within_limits",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.invitation_retention_days} days"
