"""Moderation: findings of the automatic check, integrity signals, complaints, the hash-chained
moderation log and the records behind moderation emails (R17-R23, R30)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from companies.models import Company, OutboxRecord, Shop
from companies.tenancy import TenantManager, TenantModel, TenantQuerySet
from moderation import checks
from reviews.models import CompanyComment, DialogueMessage, Review


class Reason(models.TextChoices):
    """Why a review or a shop was acted on. The first five are R19 / 004 §5.7; the rest are
    the enforcement grounds of R30 (004 §6.11, §7.10, §13.6)."""

    COURT_ORDER = "court_order", _("court decision or official order (004 §5.7.1)")
    CEASE_AND_DESIST = "cease_and_desist", _("cease-and-desist declaration (004 §5.7.2)")
    MANIPULATION = "manipulation", _("abuse or manipulation (004 §5.7.3)")
    ILLEGAL_CONTENT = "illegal_content", _("illegal content (004 §5.3-5.4)")
    DISCRETION = "discretion", _("staff discretion, with a written justification (004 §5.7.4)")
    REVIEW_CONDITIONS = "review_conditions", _("breach of the review conditions (004 §5.5)")
    RATING_RULES = "rating_rules", _("breach of the rating rules (004 §6.11)")
    SEAL_MISUSE = "seal_misuse", _("misuse of the seal or certificate (004 §7.10)")
    PAYMENT_DEFAULT = "payment_default", _("two months overdue (004 §13.6)")
    RESOLVED = "resolved", _("the cause is resolved")


# R19: unpublishing or deleting a review needs one of these.
REMOVAL_REASONS = (
    Reason.COURT_ORDER,
    Reason.CEASE_AND_DESIST,
    Reason.MANIPULATION,
    Reason.ILLEGAL_CONTENT,
    Reason.DISCRETION,
)
ENFORCEMENT_REASONS = (
    Reason.RATING_RULES,
    Reason.SEAL_MISUSE,
    Reason.MANIPULATION,
    Reason.PAYMENT_DEFAULT,
    Reason.COURT_ORDER,
    Reason.DISCRETION,
    Reason.RESOLVED,
)


class ModerationFinding(TenantModel):
    """Which rule of the automatic check fired on which span of which text (R17, R18).

    Spans index the text as submitted: version ``version`` of the review (``ReviewVersion``),
    of the company comment, or the dialogue message's ``submitted_text``.
    """

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    review = models.ForeignKey(
        Review, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    company_comment = models.ForeignKey(
        CompanyComment, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    dialogue_message = models.ForeignKey(
        DialogueMessage, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)
    rule = models.CharField(max_length=32, choices=list(checks.RULE_LABELS.items()))
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    # True for the rules that hold a text for a moderator; the others were starred out.
    held = models.BooleanField(default=False)

    class Meta:
        ordering = ["created_at", "start"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(review__isnull=False, company_comment=None, dialogue_message=None)
                    | Q(review=None, company_comment__isnull=False, dialogue_message=None)
                    | Q(review=None, company_comment=None, dialogue_message__isnull=False)
                ),
                name="finding_one_target",
            ),
            models.CheckConstraint(condition=Q(end__gte=models.F("start")), name="finding_span"),
        ]
        indexes = [
            models.Index(fields=["company", "review"], name="finding_company_review"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} at {self.start}-{self.end}"


class IntegritySignal(TenantModel):
    """A sign of manipulation shown to moderators with an explanation (R23, 004 §6.8).

    Never acted on silently: a signal that held a review says so (``held``), and the review is
    in the moderation queue until a moderator decides.
    """

    class Kind(models.TextChoices):
        STAFF_EMAIL = "staff_email", _("written from the address of one of the company's users")
        COMPANY_DOMAIN = "company_domain", _("written from the company's email domain")
        SAME_IP_AS_STAFF = "same_ip_as_staff", _("same network as the company's staff")
        BURST_NETWORK = "burst_network", _("many reviews from one network")
        BURST_WINDOW = "burst_window", _("many reviews right after their invitation")
        INCENTIVE_WORDING = "incentive_wording", _("incentive wording in the text")
        COVERAGE_GAP = "coverage_gap", _("orders received but not invited")
        ORDER_VOLUME_DROP = "order_volume_drop", _("sudden drop in order volume")

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        DISMISSED = "dismissed", _("dismissed: no manipulation")
        CONFIRMED = "confirmed", _("confirmed: manipulation")

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    review = models.ForeignKey(
        Review, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    explanation = models.TextField()
    details = models.JSONField(default=dict, blank=True)
    held = models.BooleanField(default=False, help_text="this signal held the review")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)
    # Shop-level scans run daily; the key (e.g. the ISO week) keeps them from repeating.
    dedupe_key = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "kind", "dedupe_key"],
                condition=~Q(dedupe_key=""),
                name="integritysignal_dedupe",
            ),
        ]
        indexes = [
            models.Index(fields=["company", "status", "created_at"], name="signal_company_status"),
            models.Index(fields=["created_at"], name="signal_retention"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.status})"


class NetworkSighting(TenantModel):
    """Where a review (or a company user's login) came from, as a keyed hash of the truncated
    client address (IPv4 /24, IPv6 /48). Never the address itself; purged after 90 days (R23)."""

    class Source(models.TextChoices):
        REVIEW = "review", _("review submitted")
        STAFF = "staff", _("company user signed in")

    shop = models.ForeignKey(
        Shop, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    review = models.ForeignKey(
        Review, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    source = models.CharField(max_length=8, choices=Source.choices)
    network_hash = models.CharField(max_length=64)
    # A review submitted less than a minute after its invitation was created (AB-4(a)).
    quick = models.BooleanField(default=False)
    seen_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["company", "network_hash", "seen_at"], name="sighting_network"),
            models.Index(fields=["company", "shop", "seen_at"], name="sighting_shop"),
            models.Index(fields=["seen_at"], name="sighting_retention"),
        ]

    def __str__(self) -> str:
        return f"{self.source} from {self.network_hash[:8]}… at {self.seen_at:%Y-%m-%d %H:%M}"


class Complaint(TenantModel):
    """A report that a review breaks the review conditions or the law (R20, 004 §5.4, §5.8).

    The review stays visible while the complaint is open. A company's complaint filed more than
    12 months after publication is accepted and marked out of time.
    """

    class Source(models.TextChoices):
        COMPANY = "company", _("the company")
        PUBLIC = "public", _("a visitor of the certificate page")

    class ReasonCode(models.TextChoices):
        INSULT = "insult", _("insult or profanity")
        PERSONAL_DATA = "personal_data", _("personal data")
        UNTRUE = "untrue", _("untrue statement of fact")
        NOT_A_CUSTOMER = "not_a_customer", _("not written by a customer")
        ADVERTISING = "advertising", _("advertising or spam")
        ILLEGAL = "illegal", _("other illegal content")
        OTHER = "other", _("other breach of the review conditions")

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        STATEMENT_REQUESTED = "statement_requested", _("waiting for the evaluator's statement")
        DECIDED = "decided", _("decided")

    class Outcome(models.TextChoices):
        NONE = "", _("-")
        REJECTED = "rejected", _("rejected: the review stays")
        OBSCURED = "obscured", _("upheld: a part is starred out")
        UNPUBLISHED = "unpublished", _("upheld: unpublished")
        DELETED = "deleted", _("upheld: deleted")

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="+")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    source = models.CharField(max_length=8, choices=Source.choices)
    reason = models.CharField(max_length=32, choices=ReasonCode.choices)
    explanation = models.TextField(blank=True, max_length=5000)
    # A visitor may leave an address to hear the decision; erased once told (R11 spirit).
    complainant_email = models.EmailField(blank=True)
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    out_of_time = models.BooleanField(
        default=False, help_text="company complaint more than 12 months after publication"
    )
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.OPEN)
    statement = models.TextField(blank=True)
    statement_requested_at = models.DateTimeField(null=True, blank=True)
    statement_received_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True, default="")
    decision_note = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["id", "company"], name="complaint_id_company_key"),
            models.CheckConstraint(
                condition=Q(status="decided", decided_at__isnull=False)
                | (~Q(status="decided") & Q(outcome="")),
                name="complaint_decision_complete",
            ),
        ]
        indexes = [
            models.Index(fields=["company", "shop", "status", "created_at"], name="complaint_open"),
        ]

    def __str__(self) -> str:
        return f"complaint {self.public_id} ({self.status})"


class ReplacementOffer(TenantModel):
    """After a deletion or partial deletion the evaluator may replace the review (R21, 004
    §5.10). The emailed link names this offer; it works once, until ``expires_at``."""

    class Cause(models.TextChoices):
        DELETED = "deleted", _("the review was deleted")
        UNPUBLISHED = "unpublished", _("the review was unpublished")
        OBSCURED = "obscured", _("a part of the review was starred out")

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="+")
    cause = models.CharField(max_length=16, choices=Cause.choices)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["company", "review"], name="replacementoffer_review")]

    def __str__(self) -> str:
        return f"replacement offer for review {self.review_id} ({self.cause})"


class OutboundEmail(OutboxRecord):
    """One moderation or dialogue email, sent at most once (``ekomi.outbox``, STYLE.md 4)."""

    class Kind(models.TextChoices):
        STATEMENT_REQUEST = "statement_request", _("statement request to the evaluator")
        DECISION_COMPLAINANT = "decision_complainant", _("decision to the complainant")
        DECISION_EVALUATOR = "decision_evaluator", _("decision to the evaluator")
        REPLACEMENT_OFFER = "replacement_offer", _("offer to replace a review (R21)")
        DIALOGUE_MESSAGE = "dialogue_message", _("dialogue message to the evaluator")

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    object_id = models.BigIntegerField(help_text="the complaint, offer or message it is about")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "object_id"], name="outboundemail_unique"),
        ]
        indexes = [models.Index(fields=["company", "shop", "status"], name="outboundemail_company")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.object_id} ({self.status})"


class AppendOnlyError(Exception):
    """The moderation log cannot be changed or deleted through the application (R19)."""


class ModerationLogQuerySet(TenantQuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("The moderation log is append-only.")

    def delete(self):
        raise AppendOnlyError("The moderation log is append-only.")


class ModerationLogManager(TenantManager.from_queryset(ModerationLogQuerySet)):
    def unscoped(self) -> ModerationLogQuerySet:
        return ModerationLogQuerySet(self.model, using=self._db)


class ModerationLogEntry(TenantModel):
    """Who did what, when, why, with the state before and after (R19, R30).

    Append-only and hash-chained: ``hash`` is the SHA-256 of the previous entry's hash and a
    canonical JSON of this entry (``moderation.log``). ``save()`` of an existing row and
    ``delete()`` raise, the admin is view-only, and on Postgres a trigger rejects UPDATE and
    DELETE. ``verify_moderation_log`` reports the first broken link. Company, shop and actor are
    protected: the log outlives nothing it names.
    """

    class Action(models.TextChoices):
        PUBLISH = "publish", _("published")
        OBSCURE = "obscure", _("starred out a span")
        UNPUBLISH = "unpublish", _("unpublished")
        DELETE = "delete", _("deleted")
        RESTORE = "restore", _("restored")
        MEDIA_PUBLISH = "media_publish", _("published a photo or video")
        MEDIA_REJECT = "media_reject", _("rejected a photo or video")
        COMMENT_PUBLISH = "comment_publish", _("published a company comment")
        COMMENT_OBSCURE = "comment_obscure", _("starred out a span of a company comment")
        COMMENT_REMOVE = "comment_remove", _("removed a company comment")
        MESSAGE_RELEASE = "message_release", _("released a dialogue message")
        MESSAGE_REJECT = "message_reject", _("rejected a dialogue message")
        COMPLAINT_STATEMENT = "complaint_statement", _("asked the evaluator for a statement")
        COMPLAINT_DECIDE = "complaint_decide", _("decided a complaint")
        SIGNAL_DISMISS = "signal_dismiss", _("dismissed an integrity signal")
        SIGNAL_CONFIRM = "signal_confirm", _("confirmed an integrity signal")
        PUBLIC_PAGES_DISABLE = "public_pages_disable", _("disabled widget and certificate page")
        PUBLIC_PAGES_ENABLE = "public_pages_enable", _("enabled widget and certificate page")
        RATINGS_STOP = "ratings_stop", _("stopped new ratings")
        RATINGS_RESUME = "ratings_resume", _("resumed new ratings")
        SEAL_SUSPEND = "seal_suspend", _("suspended the seal")
        SEAL_WITHDRAW = "seal_withdraw", _("withdrew the seal")
        SEAL_REINSTATE = "seal_reinstate", _("reinstated the seal")
        COMPANY_BLOCK = "company_block", _("blocked backend access")
        COMPANY_UNBLOCK = "company_unblock", _("unblocked backend access")

    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="+")
    shop = models.ForeignKey(
        Shop, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=254, help_text="who, as they were called then")
    action = models.CharField(max_length=32, choices=Action.choices)
    target_type = models.CharField(max_length=32)
    target_id = models.BigIntegerField()
    reason = models.CharField(max_length=32, choices=Reason.choices, blank=True)
    justification = models.TextField(blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    acted_at = models.DateTimeField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = ModerationLogManager()

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "moderation log entries"
        permissions = [("moderate", "Can use the moderation queue and take moderation actions")]
        indexes = [
            models.Index(fields=["company", "target_type", "target_id"], name="modlog_target"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.target_type} {self.target_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("The moderation log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("The moderation log is append-only.")


class QueuedReview(Review):
    """The moderation queue in Django admin: reviews that wait for a moderator (held, media to
    check, open complaints, open signals, held company comments or dialogue messages)."""

    class Meta:
        proxy = True
        verbose_name = "moderation queue item"
        verbose_name_plural = "moderation queue"


class ShopEnforcement(Shop):
    """Enforcement on a shop and its company (R30): each action with a reason and a log entry."""

    class Meta:
        proxy = True
        verbose_name = "shop enforcement"
        verbose_name_plural = "shop enforcement"
