"""Companies (tenants), their people, shops, API keys and product catalogue (DESIGN.md §2)."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from companies.tenancy import TenantModel


class UserManager(BaseUserManager):
    """Logins are by email address (R2: first name, last name, email)."""

    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person: company staff (via memberships) or platform staff (``is_staff``)."""

    username = None
    email = models.EmailField(_("email address"), unique=True)
    email_confirmed_at = models.DateTimeField(null=True, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.email


class Company(models.Model):
    """The tenant: a business (001 §3.2) with users, shops, a contract and invoices."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        BLOCKED = "blocked", _("blocked")
        ENDED = "ended", _("contract ended")

    name = models.CharField(max_length=200)
    street = models.CharField(max_length=200, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, default="DE", help_text="ISO 3166-1 alpha-2")
    vat_id = models.CharField("VAT ID", max_length=20, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "companies"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(country__regex=r"^[A-Z]{2}$"), name="company_country_iso2"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    """R2: owner (everything incl. billing and users), manager (daily work), viewer (read)."""

    OWNER = "owner", _("owner")
    MANAGER = "manager", _("manager")
    VIEWER = "viewer", _("viewer")


class Membership(TenantModel):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company", "user"], name="membership_unique_user"),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) at company {self.company_id}"


class SealState(models.TextChoices):
    ACTIVE = "active", _("active")
    SUSPENDED = "suspended", _("suspended")  # temporarily not shown (R30)
    WITHDRAWN = "withdrawn", _("withdrawn")  # taken away (R30)


class Shop(TenantModel):
    """One review database (004 §2.5): its own credentials, certificate page, seal and widget."""

    class DelayBasis(models.TextChoices):
        ORDER = "order", _("order date")
        DELIVERY = "delivery", _("delivery date, else order date")

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    website = models.URLField(blank=True)
    logo = models.ImageField(upload_to="logos/", blank=True)
    default_locale = models.CharField(max_length=8, default="en")
    # Invitation schedule (R7, 004 §6.6).
    invitation_delay_days = models.PositiveSmallIntegerField(
        default=settings.INVITATION_DEFAULT_DELAY_DAYS, validators=[MaxValueValidator(90)]
    )
    delay_basis = models.CharField(
        max_length=16, choices=DelayBasis.choices, default=DelayBasis.ORDER
    )
    reminder_count = models.PositiveSmallIntegerField(
        default=settings.INVITATION_DEFAULT_REMINDERS, validators=[MaxValueValidator(3)]
    )
    reminder_interval_days = models.PositiveSmallIntegerField(
        default=settings.INVITATION_DEFAULT_REMINDER_INTERVAL_DAYS,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
    )
    # R14: reviews written on the certificate page without an order, labelled everywhere.
    non_transaction_reviews_enabled = models.BooleanField(default=False)
    # eKomi-style interface credentials (API v3): the id is public, the password is hashed.
    interface_id = models.CharField(max_length=32, unique=True)
    interface_password_hash = models.CharField(max_length=128)
    went_live_at = models.DateTimeField(
        null=True, blank=True, help_text="first order received (R32)"
    )
    # Enforcement by platform staff (R30, 004 §6.11, §7.10); the reasons live in the moderation
    # log. Every public surface reads these flags on each request.
    public_pages_disabled = models.BooleanField(
        default=False, help_text="certificate page and widget show 'not available'"
    )
    seal_state = models.CharField(
        max_length=16, choices=SealState.choices, default=SealState.ACTIVE
    )
    ratings_stopped = models.BooleanField(default=False, help_text="no new ratings accepted")
    # R17/R18: photos and videos wait for a moderator unless staff approved this shop's media
    # to go out with their review (004 §5.6).
    media_published_without_moderator = models.BooleanField(
        default=False,
        help_text="staff-approved: review photos and videos are published without a moderator",
    )
    # R8 / 004 §6.5: only a staff-approved "defined selection group" lets orders skip the
    # invitation; its criteria are published on the certificate page.
    selection_group_criteria = models.TextField(blank=True)
    selection_group_approved_at = models.DateTimeField(null=True, blank=True)
    selection_group_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # R8 / 004 §6.9: a staff-approved pause of invitations, both days inclusive; set only by the
    # approval of a ``SettingsRequest``.
    invitations_paused_from = models.DateField(null=True, blank=True)
    invitations_paused_until = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            # Target of the composite (shop, company) foreign keys of shop-owned rows.
            models.UniqueConstraint(fields=["id", "company"], name="shop_id_company_key"),
            models.CheckConstraint(
                condition=Q(reminder_count__lte=3), name="shop_reminder_count_max"
            ),
            models.CheckConstraint(
                condition=Q(invitation_delay_days__lte=90), name="shop_delay_max"
            ),
        ]
        indexes = [models.Index(fields=["company", "name"], name="shop_company_name")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_public(self) -> bool:
        """Certificate page, widget, seal and feeds are live (R30, R31)."""
        return not self.public_pages_disabled and self.company.status == Company.Status.ACTIVE

    @property
    def has_selection_group(self) -> bool:
        return bool(self.selection_group_approved_at and self.selection_group_criteria)

    def invitations_paused_on(self, day: datetime.date) -> bool:
        """R8: staff approved a pause of invitations that covers ``day``."""
        start, end = self.invitations_paused_from, self.invitations_paused_until
        return bool(start and end and start <= day <= end)


class ApiKey(TenantModel):
    """A shop's REST API key. Shown once at creation; only its SHA-256 is stored (R3)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, default="default")
    prefix = models.CharField(max_length=12, unique=True, help_text="identifies the key in logs")
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"
        indexes = [models.Index(fields=["company", "shop"], name="apikey_company_shop")]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Product(TenantModel):
    """An item a shop sells (004 §2.19), identified by the shop's own ``product_id``."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="products")
    product_id = models.CharField(max_length=255)
    name = models.CharField(max_length=500)
    brand = models.CharField(max_length=200, blank=True)
    gtin = models.CharField("GTIN", max_length=14, blank=True)
    mpn = models.CharField("MPN", max_length=100, blank=True)
    sku = models.CharField("SKU", max_length=100, blank=True)
    image_url = models.URLField(max_length=1000, blank=True)
    link = models.URLField(max_length=1000, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "product_id"], name="product_unique_per_shop"),
            models.UniqueConstraint(fields=["id", "company"], name="product_id_company_key"),
            models.CheckConstraint(
                condition=Q(gtin="") | Q(gtin__regex=r"^[0-9]{8,14}$"), name="product_gtin_digits"
            ),
        ]
        indexes = [models.Index(fields=["company", "shop", "name"], name="product_company_shop")]

    def __str__(self) -> str:
        return f"{self.name} ({self.product_id})"


class OutboxRecord(TenantModel):
    """One email sent at most once: claimed before the SMTP call, stamped after it, with a fixed
    Message-ID, by ``ekomi.outbox`` (STYLE.md 4). Recipients are read when sending, never stored
    here (R43)."""

    class Status(models.TextChoices):
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        SKIPPED = "skipped", _("nobody to send to")
        FAILED = "failed", _("failed")

    status = models.CharField(max_length=8, choices=Status.choices, default=Status.SENDING)
    message_id = models.CharField(max_length=255)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        abstract = True


class CompanyEmail(OutboxRecord):
    """One email to a company's people (billing, notices, notifications), sent at most once.

    ``key`` names what the email is about, e.g. ``invoice:42`` or ``terms:3:user:7``
    (``companies.outbox``).
    """

    key = models.CharField(max_length=120)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company", "key"], name="companyemail_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"


# --- Settings: notifications, newsletter consent, requests that need staff (R8, R41) -----------


class NotificationPreference(TenantModel):
    """What one user wants to hear about one company (R41, 001 §10.3).

    No row means the defaults below: per-review emails are opt-in, the weekly digest is on.
    Every notification email carries a one-click link that turns its own preference off
    (``companies.notifications``).
    """

    class Topic(models.TextChoices):
        NEW_REVIEW = "new_review", _("every new published review")
        LOW_RATING = "low_rating", _("new reviews with 1 or 2 stars")
        WEEKLY_DIGEST = "weekly_digest", _("weekly summary")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    new_review = models.BooleanField(default=False)
    low_rating = models.BooleanField(default=False)
    weekly_digest = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["company", "user"], name="notificationpreference_unique_user"
            ),
        ]

    def __str__(self) -> str:
        return f"notifications of user {self.user_id} at company {self.company_id}"


class NewsletterConsent(models.Model):
    """One period of consent to the platform's newsletter (R41, 000 §5): opt-in only.

    Append-only history: a row is written when the user opts in (with its source) and is only
    ever completed by the opt-out time and how they opted out; a new opt-in is a new row.
    """

    class Source(models.TextChoices):
        SIGNUP = "signup", _("sign-up")
        BACKEND_SETTINGS = "backend_settings", _("backend settings")
        UNSUBSCRIBE_LINK = "unsubscribe_link", _("unsubscribe link in an email")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="newsletter_consents"
    )
    given_at = models.DateTimeField()
    source = models.CharField(max_length=32, choices=Source.choices)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawal_source = models.CharField(max_length=32, choices=Source.choices, blank=True)

    class Meta:
        ordering = ["-given_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(withdrawn_at__isnull=True),
                name="newsletterconsent_one_open_per_user",
            ),
            models.CheckConstraint(
                condition=Q(withdrawn_at__isnull=True) | Q(withdrawn_at__gte=models.F("given_at")),
                name="newsletterconsent_withdrawn_after_given",
            ),
        ]

    def __str__(self) -> str:
        return f"newsletter consent of user {self.user_id} since {self.given_at:%Y-%m-%d}"


class SettingsRequest(TenantModel):
    """A change only platform staff may allow (R8, 004 §6.5, §6.9): pausing invitations or a
    defined selection group. Staff approve it (which applies it to the shop) or refuse it."""

    class Kind(models.TextChoices):
        PAUSE = "pause", _("pause invitations")
        SELECTION_GROUP = "selection_group", _("defined selection group")

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for approval")
        APPROVED = "approved", _("approved")
        REFUSED = "refused", _("refused")
        WITHDRAWN = "withdrawn", _("withdrawn")

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="settings_requests")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    pause_from = models.DateField(null=True, blank=True)
    pause_until = models.DateField(null=True, blank=True)
    criteria = models.TextField(blank=True, help_text="selection group: who is invited")
    reason = models.TextField(blank=True, help_text="why the company asks")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True, help_text="staff's reason, sent to the company")

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "kind"],
                condition=Q(status="pending"),
                name="settingsrequest_one_pending_per_kind",
            ),
            models.CheckConstraint(
                condition=~Q(kind="pause")
                | Q(
                    pause_from__isnull=False,
                    pause_until__isnull=False,
                    pause_until__gte=models.F("pause_from"),
                ),
                name="settingsrequest_pause_dates",
            ),
            models.CheckConstraint(
                condition=~Q(kind="selection_group") | ~Q(criteria=""),
                name="settingsrequest_selection_criteria",
            ),
        ]
        indexes = [
            models.Index(fields=["company", "shop", "status"], name="settingsrequest_company"),
            models.Index(fields=["status", "created_at"], name="settingsrequest_status"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for shop {self.shop_id} ({self.status})"
