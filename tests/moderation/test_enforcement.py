"""Enforcement (R30, 004 §6.11, §7.10): each action with a reason and a log entry, visible at
once on the certificate page, widget, seal and feed, with only that shop's caches retired."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from companies.models import Company, SealState, Shop
from companies.services_staff import staff_user_upsert
from companies.signals import shop_enforcement_changed
from moderation import enforcement, log
from moderation.models import ModerationLogEntry
from moderation.services import ModerationError
from seals import public_cache
from seals.models import SealStatus
from tests import factories
from tests.platform.test_admin import admin_login

pytestmark = pytest.mark.django_db


@pytest.fixture
def moderator():
    return staff_user_upsert(
        email="mod@platform.example", password="x-long-pass-99", moderator=True
    ).user


@pytest.fixture
def staff(client, moderator):
    admin_login(client, moderator)
    return client


@pytest.fixture
def announced():
    seen = []

    def receiver(sender, **kwargs):
        seen.append((kwargs["shop_id"], kwargs["action"]))

    shop_enforcement_changed.connect(receiver, dispatch_uid="test-enforcement")
    yield seen
    shop_enforcement_changed.disconnect(dispatch_uid="test-enforcement")


def enforce_url(shop) -> str:
    return reverse("admin:moderation_shopenforcement_change", args=[shop.pk])


def enforce(client, shop, action, reason="rating_rules", justification="Gated invitations"):
    response = client.post(
        enforce_url(shop), {"action": action, "reason": reason, "justification": justification}
    )
    assert response.status_code == 302, response.content.decode()[:800]
    return Shop.objects.unscoped().select_related("company").get(pk=shop.pk)


def surfaces(client, shop) -> dict[str, str]:
    """Every public surface of the shop, as a visitor fetches it."""
    paths = {
        "certificate": reverse("seals:certificate", args=[shop.slug]),
        "widget.js": reverse("seals:widget-js", args=[shop.slug]),
        "widget": reverse("seals:widget-frame", args=[shop.slug]),
        "seal": reverse("seals:seal-svg", args=[shop.slug]),
        "feed": reverse("seals:product-ratings-feed", args=[shop.slug]),
    }
    return {name: client.get(path) for name, path in paths.items()}


@pytest.mark.parametrize(
    ("action", "field", "value"),
    [
        ("public_pages_disable", "public_pages_disabled", True),
        ("ratings_stop", "ratings_stopped", True),
        ("seal_suspend", "seal_state", SealState.SUSPENDED),
        ("seal_withdraw", "seal_state", SealState.WITHDRAWN),
    ],
)
def test_it_takes_each_action_with_a_reason_and_a_log_entry(
    staff, moderator, shop, announced, django_capture_on_commit_callbacks, action, field, value
):
    with django_capture_on_commit_callbacks(execute=True):
        shop = enforce(staff, shop, action)
    assert getattr(shop, field) == value
    entry = ModerationLogEntry.objects.for_company(shop.company).get()
    assert (entry.action, entry.actor, entry.reason, entry.justification) == (
        action,
        moderator,
        "rating_rules",
        "Gated invitations",
    )
    assert entry.after[field] == value and entry.before[field] != value
    assert announced == [(shop.pk, action)]
    assert log.log_verify().ok
    page = staff.get(enforce_url(shop)).content.decode()
    assert "Gated invitations" in page  # the history on the shop's enforcement page


def test_it_blocks_backend_access_for_the_whole_company(
    staff, shop, announced, django_capture_on_commit_callbacks
):
    second = factories.ShopFactory(company=shop.company)
    with django_capture_on_commit_callbacks(execute=True):
        shop = enforce(
            staff, shop, "company_block", reason="payment_default", justification="2 months"
        )
    assert shop.company.status == Company.Status.BLOCKED
    assert sorted(announced) == sorted([(shop.pk, "company_block"), (second.pk, "company_block")])
    entry = ModerationLogEntry.objects.for_company(shop.company).get()
    assert (entry.target_type, entry.target_id) == ("company", shop.company_id)
    shop = enforce(staff, shop, "company_unblock", reason="resolved", justification="paid")
    assert shop.company.status == Company.Status.ACTIVE


def test_it_refuses_an_action_without_reason_or_justification(staff, shop):
    response = staff.post(enforce_url(shop), {"action": "ratings_stop", "reason": "rating_rules"})
    assert response.status_code == 200  # the form again, with its error
    with pytest.raises(ModerationError):
        enforcement.shop_enforce(
            shop_id=shop.pk,
            actor=None,
            action="ratings_stop",
            reason="rating_rules",
            justification=" ",
        )
    assert not Shop.objects.unscoped().get(pk=shop.pk).ratings_stopped
    assert not ModerationLogEntry.objects.unscoped().exists()


def test_it_refuses_a_change_to_the_state_the_shop_is_in(staff, shop):
    enforce(staff, shop, "ratings_stop")
    page = staff.post(
        enforce_url(shop),
        {"action": "ratings_stop", "reason": "rating_rules", "justification": "x"},
        follow=True,
    ).content.decode()
    assert "in that state already" in page
    assert ModerationLogEntry.objects.unscoped().count() == 1


def test_it_keeps_the_flags_out_of_the_plain_shop_form():
    """Only the enforcement page changes them: the shop form shows them read-only."""
    from companies.admin import ShopAdmin

    assert {"public_pages_disabled", "ratings_stopped", "seal_state"} <= set(
        ShopAdmin.readonly_fields
    )


def test_it_switches_every_public_surface_off_and_on_at_once(
    staff, client, shop, django_capture_on_commit_callbacks
):
    """R30: certificate page, widget, seal and feed reflect the change on the next request."""
    factories.ReviewFactory(shop=shop, comment="ACME-A fine shop")
    before = surfaces(client, shop)
    assert before["certificate"].status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        enforce(staff, shop, "public_pages_disable")
    off = surfaces(client, shop)
    assert off["certificate"].status_code == 410 and off["feed"].status_code == 410
    for name in ("certificate", "widget.js", "widget", "seal"):
        assert "ACME-A fine shop" not in off[name].content.decode(), name
        assert off[name].content != before[name].content, name
    with django_capture_on_commit_callbacks(execute=True):
        enforce(staff, shop, "public_pages_enable", reason="resolved", justification="fixed")
    again = surfaces(client, shop)
    assert again["certificate"].status_code == 200 and again["feed"].status_code == 200


def test_it_takes_the_tier_off_the_seal_when_withdrawn(
    staff, client, shop, django_capture_on_commit_callbacks
):
    SealStatus.objects.unscoped().create(
        company=shop.company,
        shop=shop,
        review_count=80,
        rating_sum=392,
        tier="gold",
        status_as_of=timezone.localdate(),
    )
    seal = reverse("seals:seal-svg", args=[shop.slug])
    assert "GOLD" in client.get(seal).content.decode().upper()
    with django_capture_on_commit_callbacks(execute=True):
        enforce(staff, shop, "seal_withdraw", reason="seal_misuse", justification="fake seal")
    assert "GOLD" not in client.get(seal).content.decode().upper()


def test_it_closes_the_rating_link_when_ratings_are_stopped(staff, client, shop):
    from invitations import tokens

    invitation = factories.InvitationFactory(shop=shop, status="sent")
    enforce(staff, shop, "ratings_stop")
    assert client.get(f"/r/{tokens.token_for(invitation.token_nonce)}/").status_code == 410


def test_it_retires_only_that_shops_cached_responses(
    staff, client, shop, other_shop, django_capture_on_commit_callbacks
):
    """TI-5: the other company's cache keys stay as they were."""
    key_b = public_cache.entry_key(other_shop, surface="certificate")
    key_a = public_cache.entry_key(shop, surface="certificate")
    with django_capture_on_commit_callbacks(execute=True):
        shop = enforce(staff, shop, "seal_suspend")
    assert public_cache.entry_key(shop, surface="certificate") != key_a
    fresh_b = Shop.objects.unscoped().select_related("company").get(pk=other_shop.pk)
    assert public_cache.entry_key(fresh_b, surface="certificate") == key_b


def test_it_lets_company_users_nowhere_near_enforcement(client, owner, shop):
    client.force_login(owner)
    response = client.post(enforce_url(shop), {"action": "company_unblock"})
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
