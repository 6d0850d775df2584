"""Django admin for platform staff: every model opens, lists stay cheap, secrets stay hidden,
moderators stay inside their permissions, a second factor guards every page, and
``create_staff`` (TESTPLAN TI-5(d), R3, R9)."""

from __future__ import annotations

import datetime
import itertools
from io import StringIO

import factory
import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Group, Permission
from django.core.management import CommandError, call_command
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from billing.models import InvoiceLine, InvoiceNumberCounter
from billing.services import invoice_issue_for_period
from companies.models import (
    ApiKey,
    CompanyEmail,
    Membership,
    NewsletterConsent,
    NotificationPreference,
    SettingsRequest,
    Shop,
    User,
)
from companies.services import api_key_create, api_key_revoke
from companies.services_staff import (
    MODERATORS_GROUP,
    moderators_group_ensure,
    staff_totp_device,
    staff_user_upsert,
)
from guidance.services import tip_dismiss
from invitations import tokens
from invitations.models import (
    EmailTemplate,
    IdempotencyKey,
    Invitation,
    InvitationEmail,
    LinkRequest,
    OrderImport,
    Suppression,
    email_digest,
)
from moderation.models import ModerationLogEntry, QueuedReview, ShopEnforcement
from privacy.models import DataExport, RetentionSettings
from reviews.models import Review, ReviewVersion
from seals.models import SealHistory, SealStatus
from tests import factories
from tests.apps import OUR_APPS
from tests.moderation import factories as moderation_factories
from tests.payments.builders import PAYMENT_BUILDERS
from tests.terms.builders import BUILDERS as TERMS_BUILDERS

pytestmark = pytest.mark.django_db

MODERATOR_PASSWORD = "moderate-with-care-42"


class ReviewVersionFactory(factories.ShopOwnedFactory):
    class Meta:
        model = ReviewVersion

    review = factory.SubFactory(factories.ReviewFactory, shop=factory.SelfAttribute("..shop"))
    version = 1
    rating = factory.SelfAttribute("review.rating")
    comment = factory.SelfAttribute("review.comment")


class InvitationEmailFactory(factories.ShopOwnedFactory):
    class Meta:
        model = InvitationEmail

    invitation = factory.SubFactory(
        factories.InvitationFactory, shop=factory.SelfAttribute("..shop")
    )
    kind = InvitationEmail.Kind.INVITATION
    status = InvitationEmail.Status.SENT
    message_id = factory.LazyAttribute(
        lambda o: f"<invitation-{o.invitation.public_id}-{o.kind}@test.local>"
    )
    attempts = 1
    sent_at = factory.LazyFunction(timezone.now)


class SuppressionFactory(factories.ShopOwnedFactory):
    class Meta:
        model = Suppression

    email_digest = factory.Sequence(lambda n: email_digest(f"gone{n}@example.net"))
    reason = Suppression.Reason.UNSUBSCRIBED


class EmailTemplateFactory(factories.ShopOwnedFactory):
    class Meta:
        model = EmailTemplate

    kind = EmailTemplate.Kind.INVITATION
    locale = factory.Sequence(lambda n: f"l{n}")
    subject = "How did we do?"
    body = "Please rate your order: {{ rating_url }}"


class IdempotencyKeyFactory(factories.ShopOwnedFactory):
    class Meta:
        model = IdempotencyKey

    key = factory.Sequence(lambda n: f"request-{n}")
    fingerprint = factory.Sequence(lambda n: f"{n:064x}")
    status_code = 201
    response_body = '{"link": "https://ratings.example/r/SECRET-TOKEN/"}'
    completed_at = factory.LazyFunction(timezone.now)


class OrderImportFactory(factories.ShopOwnedFactory):
    class Meta:
        model = OrderImport

    source = "imports/orders.csv"
    original_name = "orders.csv"
    status = OrderImport.Status.DONE
    rows_total = 3
    rows_processed = 3
    orders_created = 2
    rows_rejected = 1


class LinkRequestFactory(factories.ShopOwnedFactory):
    class Meta:
        model = LinkRequest

    order_reference = factory.Sequence(lambda n: f"ORDER-{n}")
    email = factory.Sequence(lambda n: f"buyer{n}@example.net")
    status = LinkRequest.Status.PENDING


class SealStatusFactory(factories.ShopOwnedFactory):
    """One merchant seal per shop, so every row gets its own shop."""

    class Meta:
        model = SealStatus

    review_count = 60
    rating_sum = 290
    tier = "gold"
    status_as_of = factory.LazyFunction(timezone.localdate)


class SealHistoryFactory(SealStatusFactory):
    class Meta:
        model = SealHistory


_group_names = itertools.count()


def _invoice(shop):
    contract = factories.ContractFactory(company=shop.company)
    return invoice_issue_for_period(contract=contract, period_start=contract.starts_on)


def _invoice_document(shop):
    from billing.documents import invoice_pdf
    from billing.models import InvoiceDocument

    invoice = _invoice(shop)
    invoice_pdf(invoice)
    return InvoiceDocument.objects.unscoped().get(invoice=invoice)


def _price_increase(shop):
    from billing.models import PriceIncrease

    contract = factories.ContractFactory(company=shop.company)
    return PriceIncrease.objects.unscoped().create(
        company=shop.company,
        contract=contract,
        plan=contract.plan,
        old_price="99.90",
        new_price="104.89",
        announced_on=contract.starts_on,
        effective_on=contract.starts_on + datetime.timedelta(weeks=5),
    )


# One row of every registered model, inside ``company`` (whose shop is passed in).
_SEQUENCE = itertools.count()
BUILDERS = {
    "auth.Group": lambda shop: Group.objects.create(name=f"Team {next(_group_names)}"),
    "companies.User": lambda shop: factories.UserFactory(),
    "companies.Company": lambda shop: factories.CompanyFactory(),
    "companies.Membership": lambda shop: factories.MembershipFactory(company=shop.company),
    "companies.Shop": lambda shop: factories.ShopFactory(company=shop.company),
    "companies.ApiKey": lambda shop: factories.ApiKeyFactory(shop=shop),
    "companies.Product": lambda shop: factories.ProductFactory(shop=shop),
    "companies.CompanyEmail": lambda shop: CompanyEmail.objects.create(
        company=shop.company, key=f"test:{next(_SEQUENCE)}", message_id="<test@example.com>"
    ),
    "companies.NotificationPreference": lambda shop: (
        NotificationPreference.objects.unscoped().create(
            company=shop.company, user=factories.UserFactory(), new_review=True
        )
    ),
    "companies.NewsletterConsent": lambda shop: NewsletterConsent.objects.create(
        user=factories.UserFactory(), given_at=timezone.now(), source="backend_settings"
    ),
    "companies.SettingsRequest": lambda shop: SettingsRequest.objects.unscoped().create(
        company=shop.company,
        shop=factories.ShopFactory(company=shop.company),
        kind=SettingsRequest.Kind.SELECTION_GROUP,
        criteria="Only customers of the online shop.",
    ),
    "invitations.Order": lambda shop: factories.OrderFactory(shop=shop),
    "invitations.OrderItem": lambda shop: factories.OrderItemFactory(shop=shop),
    "invitations.Invitation": lambda shop: factories.InvitationFactory(shop=shop),
    "invitations.InvitationEmail": lambda shop: InvitationEmailFactory(shop=shop),
    "invitations.Suppression": lambda shop: SuppressionFactory(shop=shop),
    "invitations.EmailTemplate": lambda shop: EmailTemplateFactory(shop=shop),
    "invitations.IdempotencyKey": lambda shop: IdempotencyKeyFactory(shop=shop),
    "invitations.OrderImport": lambda shop: OrderImportFactory(shop=shop),
    "invitations.LinkRequest": lambda shop: LinkRequestFactory(shop=shop),
    "reviews.Review": lambda shop: factories.ReviewFactory(shop=shop),
    "reviews.ReviewVersion": lambda shop: ReviewVersionFactory(shop=shop),
    "reviews.ReviewMedia": lambda shop: factories.ReviewMediaFactory(shop=shop),
    "seals.SealStatus": lambda shop: SealStatusFactory(shop__company=shop.company),
    "seals.SealHistory": lambda shop: SealHistoryFactory(shop__company=shop.company),
    "reviews.CompanyComment": lambda shop: moderation_factories.CompanyCommentFactory(shop=shop),
    "reviews.DialogueThread": lambda shop: moderation_factories.DialogueThreadFactory(shop=shop),
    "reviews.DialogueMessage": lambda shop: moderation_factories.DialogueMessageFactory(shop=shop),
    "moderation.QueuedReview": lambda shop: QueuedReview.objects.unscoped().get(
        pk=moderation_factories.HeldReviewFactory(shop=shop).pk
    ),
    "moderation.ShopEnforcement": lambda shop: ShopEnforcement.objects.unscoped().get(
        pk=factories.ShopFactory(company=shop.company).pk
    ),
    "moderation.Complaint": lambda shop: moderation_factories.ComplaintFactory(shop=shop),
    "moderation.IntegritySignal": lambda shop: moderation_factories.IntegritySignalFactory(
        shop=shop
    ),
    "moderation.ModerationFinding": lambda shop: moderation_factories.ModerationFindingFactory(
        shop=shop
    ),
    "moderation.ModerationLogEntry": lambda shop: moderation_factories.log_entry(shop),
    "moderation.NetworkSighting": lambda shop: moderation_factories.NetworkSightingFactory(
        shop=shop
    ),
    "moderation.OutboundEmail": lambda shop: moderation_factories.OutboundEmailFactory(shop=shop),
    "moderation.ReplacementOffer": lambda shop: moderation_factories.ReplacementOfferFactory(
        shop=shop
    ),
    "billing.Plan": lambda shop: factories.PlanFactory(),
    "billing.Contract": lambda shop: factories.ContractFactory(company=shop.company),
    "privacy.DataExport": lambda shop: DataExport.objects.for_company(shop.company).create(
        company=shop.company, kind=DataExport.Kind.COMPANY
    ),
    "privacy.RetentionSettings": lambda shop: RetentionSettings.objects.for_company(
        shop.company
    ).get_or_create(company=shop.company)[0],
    "billing.Invoice": lambda shop: _invoice(shop),
    "billing.InvoiceLine": lambda shop: InvoiceLine.objects.unscoped().get(invoice=_invoice(shop)),
    "billing.InvoiceDocument": lambda shop: _invoice_document(shop),
    "billing.PriceIncrease": lambda shop: _price_increase(shop),
    "billing.InvoiceNumberCounter": lambda shop: InvoiceNumberCounter.objects.get_or_create(
        year=2000 + next(_group_names)
    )[0],
    "guidance.TipDismissal": lambda shop: tip_dismiss(
        user=factories.MembershipFactory(company=shop.company).user, shop=shop, tip="seal-at-risk"
    ),
    **PAYMENT_BUILDERS,
    **TERMS_BUILDERS,
    "otp_totp.TOTPDevice": lambda shop: TOTPDevice.objects.create(
        user=factories.UserFactory(is_staff=True), name="admin", confirmed=True
    ),
}
REGISTERED = sorted(model._meta.label for model in admin.site._registry)


def changelist_url(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def change_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def admin_login(client, user) -> None:
    """Log ``user`` in with a verified second factor, as the admin login form does (TI-5).

    The login form itself is exercised in ``test_it_logs_staff_in_with_password_and_code``.
    """
    staff_totp_device(user=user)
    device = TOTPDevice.objects.get(user=user)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


@pytest.fixture
def superuser():
    return factories.UserFactory(email="root@platform.example", is_staff=True, is_superuser=True)


@pytest.fixture
def moderator():
    return staff_user_upsert(
        email="moderator@platform.example", password=MODERATOR_PASSWORD, moderator=True
    ).user


def test_it_registers_every_platform_model():
    """Every model of our apps has an admin, and this module knows how to build each one."""
    for label in OUR_APPS:
        for model in apps.get_app_config(label).get_models():
            assert model in admin.site._registry, model._meta.label
    assert set(REGISTERED) == set(BUILDERS)


@pytest.mark.parametrize("label", REGISTERED)
def test_it_opens_the_changelist_and_change_page_of_every_model(client, superuser, shop, label):
    """Staff open every list and every object, across tenants (the row is in ``company``)."""
    obj = BUILDERS[label](shop)
    admin_login(client, superuser)

    listing = client.get(changelist_url(obj))
    assert listing.status_code == 200
    assert change_url(obj) in listing.content.decode()
    assert client.get(change_url(obj)).status_code == 200


@pytest.mark.parametrize("label", REGISTERED)
def test_it_lists_many_rows_in_a_bounded_number_of_queries(
    client, superuser, shop, django_assert_max_num_queries, label
):
    """Foreign keys in list columns are joined, not fetched per row (STYLE.md 10)."""
    for _ in range(6):
        BUILDERS[label](shop)
    admin_login(client, superuser)
    # session, user, the session's OTP device (second factor), COUNT of the filtered list,
    # COUNT of all rows (only where the full count is shown), the page of rows with its joined
    # foreign keys, the choices of one related filter (the user list's groups). Six more rows
    # fetched one by one would need 6 more.
    with django_assert_max_num_queries(7):
        response = client.get(changelist_url(apps.get_model(label)))
    assert response.status_code == 200


def test_it_adds_a_user_by_email_address(client, superuser):
    """The custom user has no username: the add form asks for the email address, stores it
    lower-cased like the manager does, and refuses the same address in other case."""
    admin_login(client, superuser)
    add_url = reverse("admin:companies_user_add")
    form = {
        "email": "New.Colleague@Platform.Example",
        "usable_password": "true",
        "password1": "a-long-staff-passphrase",
        "password2": "a-long-staff-passphrase",
    }
    assert client.post(add_url, form).status_code == 302
    user = User.objects.get(email="new.colleague@platform.example")
    assert user.check_password("a-long-staff-passphrase")

    again = client.post(add_url, {**form, "email": "NEW.colleague@platform.example"})
    assert again.status_code == 200
    assert "already exists" in again.content.decode()
    assert User.objects.filter(email__iexact="new.colleague@platform.example").count() == 1


def test_it_reads_across_tenants_without_an_active_scope(superuser, shop, other_shop):
    """The admin names its cross-tenant read (``unscoped()``) instead of relying on the
    middleware: outside any scope it still lists every company's shops."""
    request = RequestFactory().get("/admin/companies/shop/")
    request.user = superuser
    queryset = admin.site._registry[Shop].get_queryset(request)
    assert set(queryset) == {shop, other_shop}


@pytest.mark.parametrize("path", ["/admin/", "/admin/reviews/review/", "/admin/companies/shop/"])
def test_it_sends_company_staff_to_the_admin_login(client, owner, shop, path):
    """TI-5(d): a company owner (not ``is_staff``) gets a redirect to the admin login."""
    factories.ReviewFactory(shop=shop)
    client.force_login(owner)
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(f"{reverse('admin:login')}?next=")


def test_it_shows_a_company_owner_nothing_of_another_company(client, owner, other_shop):
    """R4/TI-5(d): the admin is no way round tenancy for company staff: the outsider's
    review page is the same login redirect, with none of its text."""
    review = factories.ReviewFactory(shop=other_shop, comment="BETA-B secret praise")
    client.force_login(owner)
    response = client.get(change_url(review))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert "BETA-B" not in response.content.decode()


def test_it_lets_a_moderator_open_reviews(client, moderator, shop):
    """TI-5: moderators read and change reviews."""
    review = factories.ReviewFactory(shop=shop, comment="Fast and friendly.")
    admin_login(client, moderator)
    listing = client.get(changelist_url(Review))
    assert listing.status_code == 200
    assert change_url(review) in listing.content.decode()
    assert client.get(change_url(review)).status_code == 200


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda shop: factories.UserFactory(), id="user"),
        pytest.param(lambda shop: Group.objects.create(name="Billing"), id="group"),
        pytest.param(lambda shop: factories.ApiKeyFactory(shop=shop), id="api-key"),
        pytest.param(lambda shop: factories.MembershipFactory(company=shop.company), id="member"),
        pytest.param(lambda shop: SuppressionFactory(shop=shop), id="suppression"),
        pytest.param(lambda shop: IdempotencyKeyFactory(shop=shop), id="idempotency-key"),
    ],
)
def test_it_forbids_a_moderator_users_groups_and_api_keys(client, moderator, shop, build):
    """TI-5(d): a moderator cannot see or edit users, permissions, memberships or API keys."""
    obj = build(shop)
    admin_login(client, moderator)
    assert client.get(changelist_url(obj)).status_code == 403
    assert client.get(change_url(obj)).status_code == 403


def test_it_forbids_a_moderator_to_make_themselves_superuser(client, moderator):
    """TI-5(d): no way to escalate through the user change form."""
    admin_login(client, moderator)
    response = client.post(
        change_url(moderator),
        {"email": moderator.email, "is_active": "on", "is_staff": "on", "is_superuser": "on"},
    )
    assert response.status_code == 403
    moderator.refresh_from_db()
    assert not moderator.is_superuser
    assert not moderator.user_permissions.exists()


def test_it_logs_a_moderators_change_to_a_review(client, moderator, shop):
    """TI-5(d), R18, R19: a moderator stars out a span on the workbench; the change is in
    Django's LogEntry and in the moderation log, and the review form itself edits nothing."""
    review = factories.ReviewFactory(shop=shop, comment="Call me on 0170 1234567.")
    admin_login(client, moderator)
    response = client.post(
        change_url(QueuedReview.objects.unscoped().get(pk=review.pk)),
        {"action": "obscure", "fragment": "0170 1234567", "justification": "phone number"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    review = Review.objects.unscoped().get(pk=review.pk)
    assert (review.status, review.comment, review.rating) == ("published", "Call me on ***.", 5)
    entry = LogEntry.objects.get(object_id=str(review.pk), content_type__model="review")
    assert (entry.user, entry.action_flag) == (moderator, CHANGE)
    logged = ModerationLogEntry.objects.unscoped().get(target_id=review.pk)
    assert (logged.actor, logged.action, logged.justification) == (
        moderator,
        "obscure",
        "phone number",
    )

    # The plain review page is read-only for everyone: no way around the log.
    assert client.post(change_url(review), {"status": "deleted"}).status_code == 403
    assert Review.objects.unscoped().get(pk=review.pk).status == "published"


def test_it_shows_an_evaluators_email_to_superusers_only(client, superuser, moderator, shop):
    """R11/R16: moderators work without the evaluator's personal data."""
    invitation = factories.InvitationFactory(shop=shop, email="kim.customer@example.net")
    review = factories.ReviewFactory(
        shop=shop, invitation=invitation, dialogue_email="kim.dialogue@example.net"
    )
    admin_login(client, moderator)
    assert "kim.customer@" not in client.get(change_url(invitation)).content.decode()
    assert "kim.dialogue@" not in client.get(change_url(review)).content.decode()
    assert "kim.customer@" not in client.get(changelist_url(invitation)).content.decode()

    admin_login(client, superuser)
    assert "kim.customer@" in client.get(change_url(invitation)).content.decode()
    assert "kim.dialogue@" in client.get(change_url(review)).content.decode()
    assert "kim.customer@" not in client.get(changelist_url(invitation)).content.decode()


def test_it_never_renders_an_api_key_or_its_hash(client, superuser, shop):
    """R3: the key is shown once at creation; the admin shows neither it nor its hash."""
    key, raw = api_key_create(shop=shop, name="shop system")
    admin_login(client, superuser)
    pages = [client.get(changelist_url(ApiKey)), client.get(change_url(key))]
    for page in pages:
        assert page.status_code == 200
        html = page.content.decode()
        assert key.prefix in html
        assert key.key_hash not in html
        assert raw not in html


def test_it_refuses_to_filter_the_changelist_by_a_hash(client, superuser, shop):
    """A hash filter in the URL would turn the list into an oracle for the stored hashes."""
    key, _raw = api_key_create(shop=shop, name="shop system")
    factories.InvitationFactory(shop=shop)
    SuppressionFactory(shop=shop)
    admin_login(client, superuser)
    assert client.get(changelist_url(ApiKey), {"key_hash": key.key_hash}).status_code == 400
    for lookup in ("token_hash__startswith", "token_nonce__startswith"):
        assert client.get(changelist_url(Invitation), {lookup: "a"}).status_code == 400
    response = client.get(changelist_url(Suppression), {"email_digest__startswith": "a"})
    assert response.status_code == 400
    assert client.get(changelist_url(Shop), {"interface_password_hash": "x"}).status_code == 400


def test_it_never_renders_a_rating_links_nonce_or_hash(client, superuser, shop):
    """R9/AU-1: the link is derived from the nonce and found by the hash; neither leaves the
    database, and neither does the token or the link itself."""
    invitation = factories.InvitationFactory(shop=shop, status="sent")
    email = InvitationEmailFactory(shop=shop, invitation=invitation)
    token = tokens.token_for(invitation.token_nonce)
    admin_login(client, superuser)
    pages = (changelist_url(Invitation), change_url(invitation), change_url(email))
    for url in (*pages, changelist_url(InvitationEmail)):
        page = client.get(url)
        assert page.status_code == 200
        html = page.content.decode()
        for secret in (invitation.token_hash, invitation.token_nonce, token):
            assert secret not in html, url
    # The send history is on the invitation's page.
    assert (
        email.message_id.replace("<", "&lt;").replace(">", "&gt;")
        in client.get(change_url(invitation)).content.decode()
    )


def test_it_never_renders_a_suppressed_address_digest(client, superuser, shop):
    """R6: the suppression list keeps a keyed digest of the address, and the admin hides it."""
    suppression = SuppressionFactory(shop=shop, email_digest=email_digest("gone@example.net"))
    admin_login(client, superuser)
    for url in (changelist_url(Suppression), change_url(suppression)):
        page = client.get(url)
        assert page.status_code == 200
        assert suppression.email_digest not in page.content.decode()


def test_it_never_renders_a_stored_api_answer(client, superuser, shop):
    """An API write's stored answer can carry a rating link (R9): neither page shows it."""
    key = IdempotencyKeyFactory(shop=shop, key="order-4711")
    admin_login(client, superuser)
    for url in (changelist_url(IdempotencyKey), change_url(key)):
        page = client.get(url)
        assert page.status_code == 200
        html = page.content.decode()
        assert "order-4711" in html
        assert "SECRET-TOKEN" not in html


@pytest.mark.parametrize(
    "model", [InvitationEmail, Suppression, IdempotencyKey, OrderImport], ids=lambda m: m.__name__
)
def test_it_keeps_service_written_invitation_rows_read_only(client, superuser, shop, model):
    """Send records, suppressions, idempotency keys and imports come from their services."""
    build = BUILDERS[model._meta.label]
    obj = build(shop)
    admin_login(client, superuser)
    opts = model._meta
    assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add")).status_code == 403
    assert client.post(change_url(obj), {}).status_code == 403


def test_it_lets_staff_add_an_email_template_inside_the_shops_company(client, superuser, shop):
    """Templates are edited here; the new row takes its shop's company."""
    admin_login(client, superuser)
    response = client.post(
        reverse("admin:invitations_emailtemplate_add"),
        {
            "shop": shop.pk,
            "kind": EmailTemplate.Kind.REMINDER,
            "locale": "de",
            "subject": "Erinnerung",
            "body": "Wie war Ihre Bestellung?",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    template = EmailTemplate.objects.for_company(shop.company).get(shop=shop)
    assert (template.kind, template.locale, template.subject) == ("reminder", "de", "Erinnerung")


def test_it_never_renders_the_interface_password_hash(client, superuser, shop):
    """R3: the interface password is hashed; its hash is read-only and not even displayed."""
    admin_login(client, superuser)
    html = client.get(change_url(shop)).content.decode()
    assert shop.interface_id in html
    assert shop.interface_password_hash not in html


def test_it_revokes_the_selected_keys_only(client, superuser, shop, other_shop):
    """R3: staff revoke keys of any company; unselected keys keep working."""
    chosen, _ = api_key_create(shop=shop, name="leaked")
    foreign, _ = api_key_create(shop=other_shop, name="leaked too")
    untouched, _ = api_key_create(shop=shop, name="still fine")
    already, _ = api_key_create(shop=shop, name="old")
    api_key_revoke(api_key=already)
    revoked_before = ApiKey.objects.unscoped().get(pk=already.pk).revoked_at
    admin_login(client, superuser)

    response = client.post(
        changelist_url(ApiKey),
        {"action": "revoke_keys", "_selected_action": [chosen.pk, foreign.pk, already.pk]},
        follow=True,
    )

    assert "Revoked 2 API keys." in response.content.decode()
    keys = ApiKey.objects.unscoped().in_bulk()
    assert keys[chosen.pk].revoked_at is not None
    assert keys[foreign.pk].revoked_at is not None
    assert keys[untouched.pk].revoked_at is None
    assert keys[already.pk].revoked_at == revoked_before


@pytest.mark.parametrize("model", [SealStatus, SealHistory], ids=["status", "history"])
def test_it_keeps_computed_seal_values_read_only(client, superuser, shop, model):
    """R24-R26: averages and tiers come from reviews; not even a superuser edits them here."""
    build = SealStatusFactory if model is SealStatus else SealHistoryFactory
    seal = build(shop=shop, tier="gold")
    admin_login(client, superuser)
    response = client.post(change_url(seal), {"tier": "standard", "review_count": "1"})
    assert response.status_code == 403
    assert model.objects.unscoped().get(pk=seal.pk).tier == "gold"
    add_url = reverse(f"admin:seals_{model._meta.model_name}_add")
    assert client.get(add_url).status_code == 403
    delete_url = reverse(f"admin:seals_{model._meta.model_name}_delete", args=[seal.pk])
    assert client.get(delete_url).status_code == 403


def test_it_gives_moderators_no_power_over_accounts_or_keys():
    """TI-5(d): the Moderators group holds no permission on users, groups, permissions,
    memberships, API keys, OTP devices, rating links, private dialogue or network hashes; it
    writes only through the moderation queue, signals and enforcement (each one logged)."""
    group = moderators_group_ensure()
    granted = {
        (p.content_type.app_label, p.content_type.model, p.codename.split("_")[0])
        for p in group.permissions.select_related("content_type")
    }
    forbidden_models = {
        ("companies", "user"),
        ("auth", "group"),
        ("auth", "permission"),
        ("companies", "membership"),
        ("companies", "apikey"),
        ("otp_totp", "totpdevice"),
        ("invitations", "suppression"),
        ("invitations", "idempotencykey"),
        ("invitations", "orderimport"),
        ("invitations", "invitationemail"),
        ("reviews", "dialoguethread"),
        ("reviews", "dialoguemessage"),
        ("moderation", "networksighting"),
        ("moderation", "outboundemail"),
    }
    assert not {(app, model) for app, model, _ in granted} & forbidden_models
    writes = {(app, model) for app, model, action in granted if action != "view"}
    assert writes == {
        ("moderation", "queuedreview"),
        ("moderation", "shopenforcement"),
        ("moderation", "integritysignal"),
    }
    assert ("reviews", "review", "view") in granted
    assert ("moderation", "moderationlogentry", "view") in granted


def test_it_restores_the_moderators_permissions_when_run_again():
    """Safe to run twice: one group, and a permission added by hand is taken away again."""
    group = moderators_group_ensure()
    group.permissions.add(Permission.objects.get(codename="change_user"))
    moderators_group_ensure()
    assert Group.objects.filter(name=MODERATORS_GROUP).count() == 1
    assert not group.permissions.filter(codename="change_user").exists()


def test_it_creates_a_superuser_and_prints_the_generated_password_once():
    out = StringIO()
    call_command("create_staff", "--email", "Ops@Platform.Example", stdout=out)

    user = User.objects.get(email="ops@platform.example")
    assert (user.is_staff, user.is_superuser, user.is_active) == (True, True, True)
    output = out.getvalue()
    password = output.split("Password (shown once, store it now): ")[1].split()[0]
    assert len(password) >= 20
    assert output.count(password) == 1
    assert user.check_password(password)
    assert not Membership.objects.unscoped().filter(user=user).exists()
    # TI-5: the second factor's provisioning URI, printed once, for the one confirmed device.
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    uri = output.split("authenticator app:\n  ")[1].split()[0]
    assert uri == device.config_url and uri.startswith("otpauth://totp/")
    assert output.count("otpauth://") == 1


def test_it_updates_an_existing_user_when_run_again(client, shop):
    """Running it twice does not crash; the second run changes the role, not the password."""
    first = StringIO()
    call_command("create_staff", "--email", "ops@platform.example", stdout=first)
    password = first.getvalue().split("store it now): ")[1].split()[0]

    second = StringIO()
    call_command("create_staff", "--email", "ops@platform.example", "--moderator", stdout=second)

    assert "Updated existing staff user ops@platform.example: moderator" in second.getvalue()
    assert "Password unchanged." in second.getvalue()
    assert password not in second.getvalue()
    assert "otpauth://" not in second.getvalue()
    assert "TOTP device unchanged" in second.getvalue()
    user = User.objects.get(email="ops@platform.example")
    assert user.check_password(password)
    assert not user.is_superuser
    assert list(user.groups.values_list("name", flat=True)) == [MODERATORS_GROUP]
    admin_login(client, user)
    assert client.get(changelist_url(Review)).status_code == 200
    assert client.get(changelist_url(ApiKey)).status_code == 403

    call_command("create_staff", "--email", "ops@platform.example", stdout=StringIO())
    user.refresh_from_db()
    assert user.is_superuser
    assert not user.groups.exists()


def test_it_makes_a_company_user_staff_with_the_given_password(owner):
    out = StringIO()
    call_command(
        "create_staff",
        "--email",
        owner.email,
        "--password",
        "a-long-staff-passphrase",
        "--moderator",
        stdout=out,
    )
    owner.refresh_from_db()
    assert owner.is_staff and not owner.is_superuser
    assert owner.check_password("a-long-staff-passphrase")
    assert "a-long-staff-passphrase" not in out.getvalue()
    assert User.objects.filter(email=owner.email).count() == 1


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--email", "not-an-address"], id="bad-email"),
        pytest.param(["--email", "ops@platform.example", "--password", "123"], id="weak"),
    ],
)
def test_it_refuses_bad_input_without_creating_anyone(args):
    with pytest.raises(CommandError):
        call_command("create_staff", *args, stdout=StringIO())
    assert not User.objects.filter(is_staff=True).exists()


# --- The second factor (TI-5: "Admin login needs a second factor") ------------------------------


@pytest.mark.parametrize("label", ["index", *REGISTERED])
def test_it_refuses_every_admin_page_to_staff_without_a_verified_device(
    client, superuser, shop, label
):
    """TI-5: password alone is not enough; a superuser whose session has no verified OTP device
    is sent to the login page from the index and every list."""
    staff_totp_device(user=superuser)
    client.force_login(superuser)
    url = reverse("admin:index") if label == "index" else changelist_url(apps.get_model(label))
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_it_logs_staff_in_with_password_and_code(client, superuser):
    """TI-5: the admin login form asks for the TOTP code; a wrong code keeps the door shut."""
    superuser.set_password("a-long-staff-passphrase")
    superuser.save()
    staff_totp_device(user=superuser)
    device = TOTPDevice.objects.get(user=superuser)
    form = {
        "username": superuser.email,
        "password": "a-long-staff-passphrase",
        "otp_device": device.persistent_id,
    }
    login_url = reverse("admin:login")

    token = f"{totp(device.bin_key):06d}"
    assert client.post(login_url, {**form, "otp_token": token}).status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200

    intruder = Client()
    wrong = intruder.post(login_url, {**form, "otp_token": f"{(int(token) + 1) % 10**6:06d}"})
    assert wrong.status_code == 200
    assert intruder.get(reverse("admin:index")).status_code == 302


def test_it_replaces_a_lost_device_only_when_asked():
    """``--reset-totp`` makes a new device (the old codes stop working) and prints its URI."""
    call_command("create_staff", "--email", "ops@platform.example", stdout=StringIO())
    old = TOTPDevice.objects.get(user__email="ops@platform.example")
    out = StringIO()
    call_command("create_staff", "--email", "ops@platform.example", "--reset-totp", stdout=out)
    new = TOTPDevice.objects.get(user__email="ops@platform.example")
    assert new.pk != old.pk and new.key != old.key
    assert new.config_url in out.getvalue()
