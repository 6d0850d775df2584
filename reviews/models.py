"""Reviews and their version history (DESIGN.md §2, rules R12-R16)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from companies.models import Product, Shop
from companies.tenancy import TenantModel, company_key_led, tenant_keyed
from invitations.models import Invitation


class Rating(models.IntegerChoices):
    """R12 / 004 §2.15: the five stars and their words."""

    INADEQUATE = 1, _("inadequate")
    UNSATISFACTORY = 2, _("unsatisfactory")
    SATISFACTORY = 3, _("satisfactory")
    GOOD = 4, _("good")
    VERY_GOOD = 5, _("very good")


_REVIEW_STATUSES: list[str] = []  # filled from Review.Status below


class Review(TenantModel):
    """A star rating with a comment about the shop (merchant) or one product (004 §2.2)."""

    class Kind(models.TextChoices):
        MERCHANT = "merchant", _("merchant review")
        PRODUCT = "product", _("product review")

    class Status(models.TextChoices):
        PENDING = "pending", _("awaiting check")
        HELD = "held", _("held for a moderator")
        PUBLISHED = "published", _("published")
        UNPUBLISHED = "unpublished", _("unpublished")
        DELETED = "deleted", _("deleted")

    company = company_key_led()  # review_company_shop leads with it
    shop = tenant_keyed(Shop, on_delete=models.CASCADE, related_name="reviews")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    product = tenant_keyed(
        Product, null=True, blank=True, on_delete=models.PROTECT, related_name="reviews"
    )
    # Transaction-based reviews come through an invitation (004 §2.3). The link is cut when an
    # evaluator's data is erased; the flag keeps the review's kind for the average.
    invitation = tenant_keyed(
        Invitation, null=True, blank=True, on_delete=models.SET_NULL, related_name="reviews"
    )
    is_transaction_based = models.BooleanField(default=True)
    rating = models.PositiveSmallIntegerField(choices=Rating.choices)
    comment = models.TextField(blank=True)
    # Shown with the review only if the evaluator typed it; otherwise "Verified buyer".
    display_name = models.CharField(max_length=60, blank=True)
    # R16: for customer dialogue only, never shown publicly.
    dialogue_email = models.EmailField(blank=True)
    # R14: where a visitor's review written on the certificate page is confirmed; erased as
    # soon as the address is confirmed (or the unconfirmed review is purged).
    author_email = models.EmailField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # Public reference (API answers, complaint links) that reveals neither order nor sequence.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    version = models.PositiveIntegerField(default=1)
    submitted_at = models.DateTimeField()
    published_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__gte=1, rating__lte=5), name="review_rating_1_5"
            ),
            models.CheckConstraint(
                condition=Q(kind="merchant", product__isnull=True)
                | Q(kind="product", product__isnull=False),
                name="review_product_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(invitation__isnull=True) | Q(is_transaction_based=True),
                name="review_invitation_is_transaction",
            ),
            models.CheckConstraint(
                condition=Q(status__in=_REVIEW_STATUSES), name="review_status_valid"
            ),
            # R13: one merchant review per invitation and at most one per product.
            models.UniqueConstraint(
                fields=["invitation"],
                condition=Q(kind="merchant"),
                name="review_one_merchant_per_invitation",
            ),
            models.UniqueConstraint(
                fields=["invitation", "product"],
                condition=Q(kind="product"),
                name="review_one_per_product_per_invitation",
            ),
            models.UniqueConstraint(fields=["id", "company"], name="review_id_company_key"),
        ]
        indexes = [
            models.Index(
                fields=["company", "shop", "status", "-submitted_at"], name="review_company_shop"
            ),
            # The 12-month average (R24) reads published transaction-based reviews by date.
            models.Index(
                fields=["shop", "submitted_at"],
                name="review_average_window",
                condition=Q(status="published", is_transaction_based=True),
            ),
            # The backend's full-text search (reviews.selectors.SEARCH_CONFIG: 'simple').
            GinIndex(SearchVector("comment", config="simple"), name="review_comment_fts"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.rating}★ ({self.status})"


def media_path(instance: ReviewMedia, filename: str) -> str:
    """Random names: an upload's original name never reaches storage or URLs."""
    import uuid

    extension = {"image/jpeg": "jpg", "image/png": "png", "video/mp4": "mp4", "video/webm": "webm"}
    return f"reviews/{instance.shop_id}/{uuid.uuid4().hex}.{extension[instance.content_type]}"


class ReviewMedia(TenantModel):
    """A photo or video attached to a review: complementary elements (004 §2.2, R18)."""

    class Kind(models.TextChoices):
        PHOTO = "photo", _("photo")
        VIDEO = "video", _("video")

    class Status(models.TextChoices):
        PENDING = "pending", _("awaiting check")
        PUBLISHED = "published", _("published")
        REJECTED = "rejected", _("rejected")

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="media")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    file = models.FileField(upload_to=media_path)
    content_type = models.CharField(max_length=32)
    size = models.PositiveIntegerField()
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)

    class Meta:
        verbose_name_plural = "review media"
        indexes = [models.Index(fields=["company", "shop", "status"], name="reviewmedia_company")]

    def __str__(self) -> str:
        return f"{self.kind} of review {self.review_id} ({self.status})"


class ReviewVersion(TenantModel):
    """One text of a review: an edit replaces the public text, the history stays (R15)."""

    company = company_key_led()  # reviewversion_company leads with it
    shop = tenant_keyed(Shop, on_delete=models.CASCADE, related_name="+")
    # reviewversion_unique (review, version) serves lookups and the cascade
    review = tenant_keyed(Review, on_delete=models.CASCADE, related_name="versions", db_index=False)
    version = models.PositiveIntegerField()
    rating = models.PositiveSmallIntegerField(choices=Rating.choices)
    comment = models.TextField(blank=True)
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["review", "version"]
        constraints = [
            models.UniqueConstraint(fields=["review", "version"], name="reviewversion_unique"),
            models.CheckConstraint(
                condition=Q(rating__gte=1, rating__lte=5), name="reviewversion_rating_1_5"
            ),
        ]
        indexes = [models.Index(fields=["company", "review"], name="reviewversion_company")]

    def __str__(self) -> str:
        return f"review {self.review_id} v{self.version}"


class CompanyComment(TenantModel):
    """The company's public reply under a review: one per review, editable, checked with the
    review conditions like any comment (004 §2.18, §8.1-8.2, R22)."""

    class Status(models.TextChoices):
        PUBLISHED = "published", _("published")
        HELD = "held", _("held for a moderator")
        REMOVED = "removed", _("removed by a moderator")

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    review = models.OneToOneField(Review, on_delete=models.CASCADE, related_name="company_comment")
    # What is shown: the company's text with inadmissible spans starred (R18).
    text = models.TextField()
    # What the company wrote last, for moderators; never shown publicly.
    submitted_text = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PUBLISHED)
    version = models.PositiveIntegerField(default=1)
    published_at = models.DateTimeField(null=True, blank=True)
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["id", "company"], name="companycomment_id_company_key"),
        ]
        indexes = [
            models.Index(fields=["company", "shop", "status"], name="companycomment_company")
        ]

    def __str__(self) -> str:
        return f"company comment on review {self.review_id} ({self.status})"


class DialogueThread(TenantModel):
    """Private messages between the company and the evaluator about one review (004 §2.12,
    §8.3-8.4, R16, R22). It exists only if the evaluator left an address for it; the company
    never sees that address, and the evaluator may end the dialogue at any time."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        ENDED = "ended", _("ended")

    class EndedBy(models.TextChoices):
        NONE = "", _("-")
        EVALUATOR = "evaluator", _("the evaluator")
        COMPANY = "company", _("the company")

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    review = models.OneToOneField(Review, on_delete=models.CASCADE, related_name="dialogue")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.CharField(max_length=16, choices=EndedBy.choices, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["id", "company"], name="dialoguethread_id_company_key"),
        ]
        indexes = [
            models.Index(fields=["company", "shop", "status"], name="dialoguethread_company")
        ]

    def __str__(self) -> str:
        return f"dialogue on review {self.review_id} ({self.status})"


class DialogueMessage(TenantModel):
    """One message of a customer dialogue, checked with the same rules as comments (R22)."""

    class Sender(models.TextChoices):
        COMPANY = "company", _("company")
        EVALUATOR = "evaluator", _("evaluator")

    class Status(models.TextChoices):
        PUBLISHED = "published", _("delivered")
        HELD = "held", _("held for a moderator")
        REJECTED = "rejected", _("rejected by a moderator")

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    thread = models.ForeignKey(DialogueThread, on_delete=models.CASCADE, related_name="messages")
    sender = models.CharField(max_length=16, choices=Sender.choices)
    # What the other side reads (inadmissible spans starred) and what was written.
    text = models.TextField()
    submitted_text = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PUBLISHED)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["thread", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["id", "company"], name="dialoguemessage_id_company_key"
            ),
        ]
        indexes = [
            models.Index(fields=["company", "thread", "created_at"], name="dialoguemessage_company")
        ]

    def __str__(self) -> str:
        return f"{self.sender} message in dialogue {self.thread_id} ({self.status})"


_REVIEW_STATUSES.extend(Review.Status.values)
