"""Star rating averages, seal tiers and their history (R24-R26)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from companies.models import Product, Shop
from companies.tenancy import TenantModel
from seals import scoring


class Tier(models.TextChoices):
    STANDARD = scoring.STANDARD, _("standard")
    BRONZE = scoring.BRONZE, _("bronze")
    SILVER = scoring.SILVER, _("silver")
    GOLD = scoring.GOLD, _("gold")


class SealFields(TenantModel):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    # Null for the shop's own (merchant) seal; set for a product's average (R13).
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    review_count = models.PositiveIntegerField(default=0)
    rating_sum = models.PositiveIntegerField(default=0)
    tier = models.CharField(max_length=16, choices=Tier.choices, default=Tier.STANDARD)
    status_as_of = models.DateField(help_text="the date shown as 'Status as of' (004 §7.6.4)")

    class Meta:
        abstract = True

    @property
    def average(self):
        return scoring.displayed_average(count=self.review_count, total=self.rating_sum)


class SealStatus(SealFields):
    """The current average and tier of a shop or of one of its products."""

    class Meta:
        verbose_name = "seal status"
        verbose_name_plural = "seal statuses"
        constraints = [
            models.UniqueConstraint(
                fields=["shop"], condition=Q(product__isnull=True), name="sealstatus_one_per_shop"
            ),
            models.UniqueConstraint(
                fields=["shop", "product"],
                condition=Q(product__isnull=False),
                name="sealstatus_one_per_product",
            ),
            models.CheckConstraint(
                condition=Q(rating_sum__gte=models.F("review_count"))
                & Q(rating_sum__lte=5 * models.F("review_count")),
                name="sealstatus_sum_within_stars",
            ),
        ]
        indexes = [models.Index(fields=["company", "shop"], name="sealstatus_company_shop")]

    def __str__(self) -> str:
        return f"{self.shop_id}/{self.product_id or '-'}: {self.tier}"


class SealHistory(SealFields):
    """One row per change of tier or average: the status a shop had from ``status_as_of`` on."""

    class Meta:
        verbose_name = "seal history entry"
        verbose_name_plural = "seal history"
        ordering = ["-status_as_of", "-id"]
        indexes = [
            models.Index(
                fields=["company", "shop", "product", "-status_as_of"], name="sealhistory_company"
            )
        ]

    def __str__(self) -> str:
        return f"{self.shop_id} {self.tier} from {self.status_as_of}"
