"""Which backend user dismissed which general tip for which shop (R48, 001 §2.10)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from companies.models import Shop
from companies.tenancy import TenantModel


class Tip(models.TextChoices):
    """The general tips the dashboard can show; each has its own trigger (guidance.tips)."""

    NEGATIVE_REVIEW = "negative-review", _("after a first negative review")
    RESPONSE_RATE = "response-rate", _("when the response rate drops")
    SEAL_AT_RISK = "seal-at-risk", _("before the seal tier would fall")


class TipDismissal(TenantModel):
    """A tip this user no longer wants to see for this shop; other team members still see it."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    tip = models.CharField(max_length=32, choices=Tip.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "shop", "tip"], name="tipdismissal_once"),
        ]
        indexes = [
            models.Index(fields=["company", "shop", "user"], name="tipdismissal_company_shop"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} dismissed {self.tip} for shop {self.shop_id}"
