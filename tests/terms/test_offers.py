"""Offers and conclusion (R44, 004 §13.1-13.2, 001 §3.1)."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.urls import reverse

from billing.models import Contract
from companies.models import Company, Role, User
from companies.tasks import send_email_confirmation
from terms import services
from terms.models import Offer, OfferAcceptance, StartRule, TermsAcceptance, TermsVersion
from terms.tasks import send_conclusion_email, send_offer_email
from tests import factories

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 2, 10, 0, tzinfo=datetime.UTC)


@pytest.fixture
def plan():
    return factories.PlanFactory(name="Business", price_per_period=Decimal("149.00"))


@pytest.fixture
def offer(company, plan):
    return Offer.objects.for_company(company).create(
        company=company, plan=plan, special_terms="Onboarding call included."
    )


def _send(offer, callbacks_fixture):
    with callbacks_fixture(execute=False) as callbacks:
        version = services.offer_send(offer=offer, now=NOW)
    assert len(callbacks) == 1
    send_offer_email(version.pk)
    return version


def _accept(client, offer, version, **extra):
    data = {"version": version.number, "digest": version.digest, "confirm": "on"}
    return client.post(
        reverse("backend:contract-offer-accept", args=[offer.pk]),
        data,
        REMOTE_ADDR="203.0.113.77",
        **extra,
    )


def test_it_concludes_the_contract_when_the_owner_accepts_the_offer(
    client, company, owner, offer, django_capture_on_commit_callbacks
):
    """R44: the owner sees the offer in the backend and accepts it; who, when, from where and
    the exact version are recorded, the contract is concluded and confirmed by email."""
    version = _send(offer, django_capture_on_commit_callbacks)
    (notice,) = mail.outbox
    assert notice.to == [owner.email] and "Business" in notice.body
    client.force_login(owner)
    page = client.get(reverse("backend:contract-offer", args=[offer.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "149.00" in html and "Onboarding call included." in html and version.digest in html

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = _accept(client, offer, version)
    assert response.status_code == 302 and response["Location"] == reverse("backend:contract")

    acceptance = OfferAcceptance.objects.for_company(company).get()
    assert acceptance.version == version and acceptance.digest == version.digest
    assert acceptance.accepted_by == owner
    assert acceptance.client_network == "203.0.113.0/24"  # truncated, never the address
    contract = Contract.objects.for_company(company).get()
    assert acceptance.contract == contract and contract.plan == offer.plan
    assert contract.status == Contract.Status.PENDING
    offer.refresh_from_db()
    assert offer.status == Offer.Status.ACCEPTED
    assert len(callbacks) == 1
    mail.outbox.clear()
    send_conclusion_email(acceptance.pk)
    send_conclusion_email(acceptance.pk)  # safe to run twice
    (confirmation,) = mail.outbox
    assert "concluded" in confirmation.subject and owner.email in confirmation.body
    overview = client.get(reverse("backend:contract")).content.decode()
    assert "accepted on" in overview


def test_it_refuses_an_offer_changed_after_it_was_sent(
    client, company, owner, offer, django_capture_on_commit_callbacks
):
    """R44, 004 §13.2: a changed offer cannot be accepted in its old form."""
    first = _send(offer, django_capture_on_commit_callbacks)
    client.force_login(owner)

    offer.refresh_from_db()
    offer.special_terms = "No onboarding call."
    offer.save()
    edited = _accept(client, offer, first)  # edited by staff, not sent again yet
    assert edited.status_code == 409
    assert "being changed" in edited.content.decode()

    second = _send(offer, django_capture_on_commit_callbacks)
    assert second.number == 2
    stale = _accept(client, offer, first)  # the page the owner opened before the change
    assert stale.status_code == 409
    assert "changed after you opened it" in stale.content.decode()
    assert not Contract.objects.for_company(company).exists()
    assert not OfferAcceptance.objects.for_company(company).exists()

    with django_capture_on_commit_callbacks(execute=False):
        assert _accept(client, offer, second).status_code == 302
    assert OfferAcceptance.objects.for_company(company).get().version == second


def test_it_refuses_an_offer_whose_plan_price_changed(
    client, company, owner, offer, plan, django_capture_on_commit_callbacks
):
    """R44: the price is part of the offer; a plan repriced after sending is a changed offer."""
    version = _send(offer, django_capture_on_commit_callbacks)
    plan.price_per_period = Decimal("199.00")
    plan.save()
    client.force_login(owner)
    assert _accept(client, offer, version).status_code == 409
    assert not Contract.objects.for_company(company).exists()


def test_it_lets_only_owners_accept_and_asks_for_the_confirmation(
    client, company, owner, offer, django_capture_on_commit_callbacks
):
    """R2, R44: a manager reads the offer but cannot accept; an owner must tick the box."""
    version = _send(offer, django_capture_on_commit_callbacks)
    manager = factories.MembershipFactory(company=company, role=Role.MANAGER).user
    client.force_login(manager)
    assert client.get(reverse("backend:contract-offer", args=[offer.pk])).status_code == 200
    assert _accept(client, offer, version).status_code == 403

    client.force_login(owner)
    response = client.post(
        reverse("backend:contract-offer-accept", args=[offer.pk]),
        {"version": version.number, "digest": version.digest},
    )
    assert response.status_code == 400
    assert 'id="confirm-error"' in response.content.decode()
    assert not OfferAcceptance.objects.for_company(company).exists()


def test_it_starts_on_acceptance_when_the_offer_says_so(company, offer, owner):
    """R44: the start rule of the offer is honoured (otherwise R32 applies)."""
    offer.start_rule = StartRule.ON_ACCEPTANCE
    offer.save()  # still a draft: nothing was sent yet
    version = services.offer_send(offer=offer, now=NOW, notify=False)
    acceptance = services.offer_accept(
        offer=offer,
        version_number=version.number,
        digest=version.digest,
        user=owner,
        client_ip="2001:db8:1234:5678::1",
        now=NOW,
    )
    assert acceptance.contract.starts_on == datetime.date(2026, 3, 2)
    assert acceptance.client_network == "2001:db8:1234::/48"


def test_it_hides_drafts_and_other_companies_offers(client, owner, offer, other_company):
    """R4: a draft is not shown; another company's offer is a 404."""
    client.force_login(owner)
    assert client.get(reverse("backend:contract-offer", args=[offer.pk])).status_code == 404
    foreign = Offer.objects.for_company(other_company).create(
        company=other_company, plan=offer.plan
    )
    services.offer_send(offer=foreign, notify=False)
    assert client.get(reverse("backend:contract-offer", args=[foreign.pk])).status_code == 404


SIGNUP = {
    "company_name": "Delta Deli GmbH",
    "street": "Hauptstr. 2",
    "postal_code": "10115",
    "city": "Berlin",
    "country": "DE",
    "vat_id": "DE 136 695 976",
    "shop_name": "Delta Deli",
    "first_name": "Dana",
    "last_name": "Delta",
    "email": "dana@delta.example",
    "password": "a long Passphrase 2026!",
    "may_act_for_company": "on",
    "accept_terms": "on",
}


def _signup_and_confirm(client, callbacks_fixture) -> User:
    with callbacks_fixture(execute=False):
        assert client.post(reverse("accounts:signup"), SIGNUP).status_code == 302
    user = User.objects.get(email="dana@delta.example")
    send_email_confirmation(user.pk)
    link = re.search(r"https?://\S+/accounts/confirm/\S+/", mail.outbox[-1].body).group(0)
    with callbacks_fixture(execute=False):
        assert client.get(urlsplit(link).path, REMOTE_ADDR="198.51.100.9").status_code == 200
        assert client.get(urlsplit(link).path).status_code == 200  # a second click
    return user


def test_it_concludes_the_standard_plan_when_a_sign_up_is_confirmed(
    client, settings, django_capture_on_commit_callbacks, unscoped
):
    """R44, 001 §3.1: confirming the sign-up by email concludes the standard-plan contract,
    once, with the terms in force."""
    plan = factories.PlanFactory(name="Standard")
    settings.BILLING_STANDARD_PLAN_NAME = "Standard"
    terms = TermsVersion.objects.create(
        kind=TermsVersion.Kind.COMPANY_TERMS,
        version="2026-01",
        title="Terms",
        body="…",
        effective_on=datetime.date(2026, 1, 1),
    )
    services.terms_version_announce(version=terms)

    user = _signup_and_confirm(client, django_capture_on_commit_callbacks)

    company = Company.objects.get(name="Delta Deli GmbH")
    acceptance = OfferAcceptance.objects.get(company=company)
    assert acceptance.accepted_by == user and acceptance.offer.self_service
    assert acceptance.client_network == "198.51.100.0/24"
    assert Contract.objects.get(company=company).plan == plan
    assert TermsAcceptance.objects.get(company=company).version == terms


def test_it_concludes_nothing_at_confirmation_without_a_standard_plan(
    client, settings, django_capture_on_commit_callbacks, unscoped
):
    """R44: without a configured standard plan the confirmation only activates the account."""
    settings.BILLING_STANDARD_PLAN_NAME = ""
    _signup_and_confirm(client, django_capture_on_commit_callbacks)
    assert not Contract.objects.exists() and not OfferAcceptance.objects.exists()


def _fill(company, plan, n: int) -> None:
    for _ in range(n):
        offer = Offer.objects.for_company(company).create(company=company, plan=plan)
        services.offer_send(offer=offer, notify=False)
        TermsVersion.objects.create(
            kind=TermsVersion.Kind.REVIEW_CONDITIONS,
            version=f"v{TermsVersion.objects.count()}",
            title="Review conditions",
            body="…",
            effective_on=datetime.date(2030, 1, 1),
            announced_at=NOW,
        )


@pytest.mark.parametrize("rows", [1, 6])
def test_it_lists_the_contract_page_in_a_fixed_number_of_queries(
    client, company, owner, plan, rows, django_assert_max_num_queries
):
    """STYLE 10: the contract page costs the same queries for 1 or 6 offers and versions."""
    _fill(company, plan, rows)
    client.force_login(owner)
    client.get(reverse("backend:contract"))
    # session, user, company, membership, shops, companies for the switcher; offers, their
    # versions; the contract; accepted versions; pending versions, objections, acceptances;
    # maintenance; sanctions and their steps.
    with django_assert_max_num_queries(18):
        response = client.get(reverse("backend:contract"))
    assert response.status_code == 200
    assert response.content.decode().count("Read the offer") == rows


def test_it_refuses_a_second_contract_next_to_a_running_one(company, owner, offer):
    """R44, R40: an offer does not conclude a parallel contract; a change is an upgrade."""
    factories.ContractFactory(company=company)
    version = services.offer_send(offer=offer, notify=False)
    with pytest.raises(services.TermsError, match="running contract"):
        services.offer_accept(
            offer=offer,
            version_number=version.number,
            digest=version.digest,
            user=owner,
            client_ip="192.0.2.1",
            now=NOW,
        )
    assert Contract.objects.for_company(company).count() == 1
