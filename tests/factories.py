"""Factories that keep a whole object graph inside one company (STYLE.md 9).

Every shop-owned factory derives ``company`` from its shop (``SelfAttribute``), so a test cannot
build a row that mixes tenants by accident. Rows are written through ``unscoped()`` managers:
tests set up data across tenants on purpose.
"""

from __future__ import annotations

import datetime
import decimal

import factory
from django.utils import timezone

from companies.models import ApiKey, Company, Membership, Product, Role, Shop, User
from companies.services import hash_secret
from invitations import tokens
from invitations.models import Invitation, LinkRequest, Order, OrderItem
from reviews.models import Review, ReviewMedia


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        manager = model_class._default_manager
        if hasattr(manager, "unscoped"):
            return manager.unscoped().create(*args, **kwargs)
        return manager.create(*args, **kwargs)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    first_name = "Alex"
    last_name = "Example"
    password = factory.django.Password("correct horse battery staple")
    email_confirmed_at = factory.LazyFunction(timezone.now)


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company

    name = factory.Sequence(lambda n: f"Company {n}")
    country = "DE"


class MembershipFactory(TenantFactory):
    class Meta:
        model = Membership

    company = factory.SubFactory(CompanyFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.OWNER


class ShopFactory(TenantFactory):
    class Meta:
        model = Shop

    company = factory.SubFactory(CompanyFactory)
    name = factory.Sequence(lambda n: f"Shop {n}")
    slug = factory.Sequence(lambda n: f"shop-{n}")
    interface_id = factory.Sequence(lambda n: str(500000 + n))
    interface_password_hash = factory.LazyFunction(lambda: hash_secret("interface-password"))


class ShopOwnedFactory(TenantFactory):
    class Meta:
        abstract = True

    shop = factory.SubFactory(ShopFactory)
    company = factory.SelfAttribute("shop.company")


class ApiKeyFactory(ShopOwnedFactory):
    class Meta:
        model = ApiKey

    prefix = factory.Sequence(lambda n: f"{n:08x}")
    key_hash = factory.Sequence(lambda n: hash_secret(f"key-{n}"))


class ProductFactory(ShopOwnedFactory):
    class Meta:
        model = Product

    product_id = factory.Sequence(lambda n: f"SKU-{n}")
    name = factory.Sequence(lambda n: f"Product {n}")


class OrderFactory(ShopOwnedFactory):
    class Meta:
        model = Order

    order_id = factory.Sequence(lambda n: f"ORDER-{n}")
    ordered_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=8))


class OrderItemFactory(ShopOwnedFactory):
    class Meta:
        model = OrderItem

    order = factory.SubFactory(OrderFactory, shop=factory.SelfAttribute("..shop"))
    product = factory.SubFactory(ProductFactory, shop=factory.SelfAttribute("..shop"))


class InvitationFactory(ShopOwnedFactory):
    class Meta:
        model = Invitation

    order = factory.SubFactory(OrderFactory, shop=factory.SelfAttribute("..shop"))
    email = factory.Sequence(lambda n: f"customer{n}@example.net")
    first_name = "Kim"
    last_name = "Customer"
    due_at = factory.LazyFunction(timezone.now)
    token_nonce = factory.LazyFunction(lambda: tokens.mint()[0])
    token_hash = factory.LazyAttribute(lambda o: tokens.hash_token(tokens.token_for(o.token_nonce)))


class ReviewFactory(ShopOwnedFactory):
    class Meta:
        model = Review

    kind = Review.Kind.MERCHANT
    invitation = factory.SubFactory(InvitationFactory, shop=factory.SelfAttribute("..shop"))
    rating = 5
    comment = "Quick delivery, well packed."
    status = Review.Status.PUBLISHED
    submitted_at = factory.LazyFunction(timezone.now)
    published_at = factory.SelfAttribute("submitted_at")


class ReviewMediaFactory(ShopOwnedFactory):
    class Meta:
        model = ReviewMedia

    review = factory.SubFactory(ReviewFactory, shop=factory.SelfAttribute("..shop"))
    kind = ReviewMedia.Kind.PHOTO
    file = factory.django.ImageField(filename="photo.jpg", format="JPEG", width=40, height=30)
    content_type = "image/jpeg"
    size = 1000
    width = 40
    height = 30


class LinkRequestFactory(ShopOwnedFactory):
    class Meta:
        model = LinkRequest

    order_reference = factory.Sequence(lambda n: f"REQ-{n}")
    email = factory.Sequence(lambda n: f"buyer{n}@example.net")
    status = LinkRequest.Status.PENDING


class PlanFactory(factory.django.DjangoModelFactory):
    """The 12/12 plan: monthly invoices, 12 months' minimum term, one month's notice."""

    class Meta:
        model = "billing.Plan"

    name = factory.Sequence(lambda n: f"Plan {n}")
    price_per_period = decimal.Decimal("99.90")
    period_months = 1
    minimum_term_months = 12
    renewal_term_months = 12
    notice_period = 1
    notice_unit = "months"


class ContractFactory(TenantFactory):
    class Meta:
        model = "billing.Contract"

    company = factory.SubFactory(CompanyFactory)
    plan = factory.SubFactory(PlanFactory)
    starts_on = datetime.date(2026, 2, 1)
    # R32: with no order the contract starts four weeks after conclusion.
    concluded_on = factory.LazyAttribute(lambda o: o.starts_on - datetime.timedelta(weeks=4))
