"""Integrity signals (R23, 004 §6.8, AB-3, AB-4): each sign of manipulation is flagged to
moderators with an explanation and holds the review where it is about the review; nothing is
acted on silently. Client addresses are kept only as keyed hashes of their network."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.signals import user_logged_in
from django.test import RequestFactory
from django.utils import timezone

from companies.models import User
from invitations.models import Invitation
from moderation import integrity
from moderation.models import IntegritySignal, NetworkSighting
from moderation.selectors import queue
from reviews import services
from reviews.models import Review
from tests import factories

pytestmark = pytest.mark.django_db

Kind = IntegritySignal.Kind


def submit(invitation, text="Great shop.", stars=5, ip=None) -> Review:
    submission = services.Submission(merchant=services.RatingInput(stars, text))
    reviews = services.review_submit(
        invitation_id=invitation.pk, submission=submission, client_ip=ip
    )
    return reviews[0]


def signals(company) -> list[tuple[str, bool]]:
    rows = IntegritySignal.objects.for_company(company).order_by("id")
    return list(rows.values_list("kind", "held"))


def old_invitation(shop, **fields) -> Invitation:
    """An invitation created a day ago: its review is not "quick"."""
    invitation = factories.InvitationFactory(shop=shop, **fields)
    Invitation.objects.unscoped().filter(pk=invitation.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=1)
    )
    return Invitation.objects.unscoped().get(pk=invitation.pk)


# --- AB-3: the company reviewing itself ---------------------------------------------------------


def test_it_holds_a_review_written_from_a_company_users_address(shop, owner):
    review = submit(old_invitation(shop, email=owner.email.upper()))
    assert review.status == Review.Status.HELD
    assert signals(shop.company) == [(Kind.STAFF_EMAIL, True)]
    signal = IntegritySignal.objects.for_company(shop.company).get()
    assert "user of the company" in signal.explanation and signal.review == review
    # It waits in the moderators' queue; the tenant has no way to publish it.
    assert list(queue(Review.objects.unscoped())) == [review]


def test_it_holds_a_review_from_the_companys_email_domain(shop):
    factories.MembershipFactory(company=shop.company, user__email="ceo@acme-a.example")
    review = submit(old_invitation(shop, email="anything@acme-a.example"))
    assert review.status == Review.Status.HELD
    signal = IntegritySignal.objects.for_company(shop.company).get()
    assert (signal.kind, signal.details) == (Kind.COMPANY_DOMAIN, {"domain": "acme-a.example"})


def test_it_knows_the_shops_website_as_a_company_domain(shop):
    shop.website = "https://www.acme-shop.example/"
    shop.save()
    review = submit(old_invitation(shop, email="kim@acme-shop.example"))
    assert review.status == Review.Status.HELD
    assert signals(shop.company) == [(Kind.COMPANY_DOMAIN, True)]


def test_it_does_not_flag_a_shared_freemail_provider(shop):
    factories.MembershipFactory(company=shop.company, user__email="owner@gmail.com")
    review = submit(old_invitation(shop, email="customer@gmail.com"))
    assert review.status == Review.Status.PUBLISHED
    assert signals(shop.company) == []


def test_it_holds_a_review_from_a_network_the_companys_users_signed_in_from(shop, owner):
    """AB-3: ``same_ip_as_staff`` from the login signal, compared by network (/24)."""
    login = RequestFactory().get("/accounts/login/", REMOTE_ADDR="198.51.100.23")
    user_logged_in.send(sender=User, request=login, user=owner)
    review = submit(old_invitation(shop), ip="198.51.100.99")
    assert review.status == Review.Status.HELD
    assert signals(shop.company) == [(Kind.SAME_IP_AS_STAFF, True)]
    stranger = submit(old_invitation(shop), ip="192.0.2.5")
    assert stranger.status == Review.Status.PUBLISHED


def test_it_keeps_a_company_users_network_to_their_own_company(shop, other_shop, owner):
    login = RequestFactory().get("/", REMOTE_ADDR="198.51.100.23")
    user_logged_in.send(sender=User, request=login, user=owner)
    review = submit(old_invitation(other_shop), ip="198.51.100.24")
    assert review.status == Review.Status.PUBLISHED


# --- AB-4: bursts ----------------------------------------------------------------------------


def test_it_holds_a_burst_of_reviews_from_one_network(shop):
    """Five reviews of one shop from one /24 within the hour: the fifth and later are held;
    the earlier ones stay published (never taken down silently)."""
    reviews = [
        submit(old_invitation(shop), ip=f"203.0.113.{n}", stars=n % 5 + 1) for n in range(1, 7)
    ]
    assert [r.status for r in reviews] == ["published"] * 4 + ["held"] * 2
    assert signals(shop.company) == [(Kind.BURST_NETWORK, True)] * 2
    other_network = submit(old_invitation(shop), ip="203.0.114.1")
    assert other_network.status == Review.Status.PUBLISHED


def test_it_counts_a_submission_with_product_reviews_once(shop):
    """One invitation makes a merchant and product reviews: one sighting, one submission."""
    invitation = old_invitation(shop)
    item = factories.OrderItemFactory(shop=shop, order=invitation.order)
    submission = services.Submission(
        merchant=services.RatingInput(5, "Good"),
        products={item.product_id: services.RatingInput(5, "Good")},
    )
    reviews = services.review_submit(
        invitation_id=invitation.pk, submission=submission, client_ip="203.0.113.1"
    )
    assert len(reviews) == 2
    assert NetworkSighting.objects.for_company(shop.company).count() == 1


def test_it_holds_a_burst_of_reviews_right_after_their_invitation(shop):
    """AB-4(a): reviews within 60 s of their invitation's creation, five in an hour."""
    reviews = [submit(factories.InvitationFactory(shop=shop), ip=f"10.{n}.0.1") for n in range(5)]
    assert [r.status for r in reviews] == ["published"] * 4 + ["held"]
    assert signals(shop.company) == [(Kind.BURST_WINDOW, True)]


# --- Incentives ------------------------------------------------------------------------------


def test_it_flags_incentive_wording(shop):
    review = submit(old_invitation(shop), "Toller Shop, Gutschein für die Bewertung bekommen!")
    assert review.status == Review.Status.HELD
    signal = IntegritySignal.objects.for_company(shop.company).get()
    assert signal.kind == Kind.INCENTIVE_WORDING and "004 §6.8.1" in signal.explanation


def test_it_does_not_repeat_an_open_signal_on_an_edit(shop, owner):
    invitation = old_invitation(shop, email=owner.email)
    submit(invitation)
    services.review_edit(
        invitation_id=invitation.pk,
        submission=services.Submission(merchant=services.RatingInput(4, "Edited")),
    )
    assert signals(shop.company) == [(Kind.STAFF_EMAIL, True)]


# --- Coverage and volume (daily scan) --------------------------------------------------------


def _orders(shop, count: int, *, days_ago: float, invited: int = 0):
    for n in range(count):
        invitation = factories.InvitationFactory(shop=shop)
        ordered = timezone.now() - datetime.timedelta(days=days_ago, minutes=n)
        type(invitation.order).objects.unscoped().filter(pk=invitation.order_id).update(
            ordered_at=ordered
        )
        if n < invited:
            Invitation.objects.unscoped().filter(pk=invitation.pk).update(
                status="sent", sent_at=timezone.now()
            )
        else:
            Invitation.objects.unscoped().filter(pk=invitation.pk).update(
                status="suppressed", suppression_reason="no_consent"
            )
    shop.went_live_at = timezone.now() - datetime.timedelta(days=90)
    shop.save()


def test_it_flags_orders_that_were_not_invited(shop, other_shop):
    _orders(shop, 25, days_ago=3, invited=10)
    _orders(other_shop, 25, days_ago=3, invited=25)
    assert integrity.integrity_coverage_scan() == 1
    signal = IntegritySignal.objects.for_company(shop.company).get()
    assert signal.kind == Kind.COVERAGE_GAP and signal.review is None and not signal.held
    assert signal.details["not_invited_by_reason"] == {"no_consent": 15}
    assert "25 orders" in signal.explanation and "10 got an invitation" in signal.explanation
    assert integrity.integrity_coverage_scan() == 0  # once per week
    assert not IntegritySignal.objects.for_company(other_shop.company).exists()


def test_it_flags_a_sudden_drop_in_order_volume(shop):
    _orders(shop, 48, days_ago=15, invited=48)  # about 12 a week in the four weeks before
    _orders(shop, 2, days_ago=1, invited=2)
    integrity.integrity_coverage_scan()
    kinds = set(IntegritySignal.objects.for_company(shop.company).values_list("kind", flat=True))
    assert kinds == {Kind.ORDER_VOLUME_DROP}


# --- Retention and what is stored ------------------------------------------------------------


def test_it_stores_no_address_only_a_keyed_network_hash(shop):
    submit(old_invitation(shop), ip="203.0.113.77")
    sighting = NetworkSighting.objects.for_company(shop.company).get()
    stored = " ".join(str(v) for v in NetworkSighting.objects.unscoped().values().get().values())
    assert "203.0.113" not in stored
    assert sighting.network_hash == integrity.network_hash("203.0.113.1")
    assert integrity.network_hash("2001:db8:1:2::1") == integrity.network_hash("2001:db8:1:ff::9")
    assert integrity.network_hash("not an address") is None


def test_it_purges_network_hashes_and_settled_signals_after_90_days(shop):
    now = timezone.now()
    old, recent = now - datetime.timedelta(days=91), now - datetime.timedelta(days=89)
    for seen in (old, recent):
        NetworkSighting.objects.unscoped().create(
            company=shop.company, shop=shop, source="review", network_hash="a" * 64, seen_at=seen
        )
    settled = IntegritySignal.objects.unscoped().create(
        company=shop.company, shop=shop, kind=Kind.COVERAGE_GAP, explanation="x", status="dismissed"
    )
    still_open = IntegritySignal.objects.unscoped().create(
        company=shop.company, shop=shop, kind=Kind.ORDER_VOLUME_DROP, explanation="y"
    )
    IntegritySignal.objects.unscoped().update(created_at=old)
    assert integrity.integrity_signals_purge(now=now) == 2
    assert list(
        NetworkSighting.objects.for_company(shop.company).values_list("seen_at", flat=True)
    ) == [recent]
    assert list(IntegritySignal.objects.for_company(shop.company)) == [still_open]
    assert not IntegritySignal.objects.unscoped().filter(pk=settled.pk).exists()
