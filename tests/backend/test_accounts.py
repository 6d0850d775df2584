"""Accounts under /accounts/: business sign-up, email confirmation, login, logout, reset
(R1, R3, AU-5)."""

from __future__ import annotations

import datetime
import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from companies import services_accounts
from companies.models import Company, Membership, NewsletterConsent, Role, Shop, User
from companies.services_accounts import email_confirmation_token
from companies.tasks import send_email_confirmation
from tests import factories

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
SIGNUP = {
    "company_name": "Gamma Garden GmbH",
    "street": "Hauptstr. 1",
    "postal_code": "10115",
    "city": "Berlin",
    "country": "DE",
    "vat_id": "DE 136 695 976",
    "shop_name": "Gamma Garden",
    "first_name": "Gina",
    "last_name": "Gamma",
    "email": "Gina@Gamma.example",
    "password": "a long Passphrase 2026!",
    "may_act_for_company": "on",
    "accept_terms": "on",
}


def _signup(client, django_capture_on_commit_callbacks, **changes):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("accounts:signup"), {**SIGNUP, **changes})
    return response, callbacks


def _login(client, email, password):
    return client.post(reverse("accounts:login"), {"username": email, "password": password})


def _confirm_link() -> str:
    (message,) = mail.outbox
    return re.search(r"https?://\S+/accounts/confirm/\S+/", message.body).group(0)


def test_it_signs_up_a_business_confirms_the_email_and_logs_in(
    client, django_capture_on_commit_callbacks, unscoped
):
    """R1: a business signs up; the account works only after the emailed link is used."""
    response, callbacks = _signup(client, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:signup-done")
    assert len(callbacks) == 1  # the confirmation email is queued on commit

    user = User.objects.get(email="gina@gamma.example")
    company = Company.objects.get(name="Gamma Garden GmbH")
    assert (company.vat_id, company.city, company.street) == (
        "DE136695976",
        "Berlin",
        "Hauptstr. 1",
    )
    assert Membership.objects.get(user=user).role == Role.OWNER
    assert Shop.objects.filter(company=company, name="Gamma Garden").exists()
    assert not user.is_active and user.email_confirmed_at is None
    assert _login(client, "gina@gamma.example", SIGNUP["password"]).status_code == 200

    assert send_email_confirmation(user.pk) is True
    link = _confirm_link()
    assert mail.outbox[0].to == ["gina@gamma.example"]
    assert client.get(urlsplit(link).path).status_code == 200

    user.refresh_from_db()
    assert user.is_active and user.email_confirmed_at is not None
    before = client.session.session_key
    response = _login(client, "gina@gamma.example", SIGNUP["password"])
    assert response.status_code == 302 and response["Location"] == "/backend/"
    assert client.session.session_key != before  # AU-5: the session id changes at login
    assert client.get("/backend/").status_code == 200


def test_it_does_not_send_a_second_confirmation_after_confirming(client, unscoped):
    """R1: the task is safe to run twice; a confirmed address gets no more links."""
    user = factories.UserFactory(is_active=False, email_confirmed_at=None)
    assert services_accounts.email_confirm(token=email_confirmation_token(user=user)) == user
    assert send_email_confirmation(user.pk) is False
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"vat_id": "DE123"}, "vat_id"),
        ({"vat_id": "ATU13585627"}, "vat_id"),  # a valid Austrian number for a German company
        ({"vat_id": ""}, "vat_id"),  # EU companies must give one
        ({"may_act_for_company": ""}, "may_act_for_company"),
        ({"accept_terms": ""}, "accept_terms"),
        ({"password": "password"}, "password"),
    ],
)
def test_it_refuses_sign_ups_without_a_valid_vat_id_or_the_confirmations(
    client, django_capture_on_commit_callbacks, unscoped, changes, field
):
    """R1: VAT ID format checked with python-stdnum; the person confirms they may act."""
    response, callbacks = _signup(client, django_capture_on_commit_callbacks, **changes)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert callbacks == []
    assert not Company.objects.filter(name="Gamma Garden GmbH").exists()


def test_it_lets_non_eu_companies_sign_up_without_a_vat_id(
    client, django_capture_on_commit_callbacks, unscoped
):
    response, _callbacks = _signup(
        client, django_capture_on_commit_callbacks, country="CH", vat_id=""
    )
    assert response.status_code == 302


def test_it_refuses_an_email_that_already_has_a_login(
    client, django_capture_on_commit_callbacks, unscoped
):
    factories.UserFactory(email="gina@gamma.example")
    response, _callbacks = _signup(client, django_capture_on_commit_callbacks)
    assert "email" in response.context["form"].errors


def test_it_refuses_tampered_and_expired_confirmation_links(client, monkeypatch, unscoped):
    """R1: the signed link is checked and expires after 7 days."""
    user = factories.UserFactory(is_active=False, email_confirmed_at=None)
    token = email_confirmation_token(user=user)
    assert client.get(reverse("accounts:confirm", args=[token[:-2] + "xx"])).status_code == 400
    monkeypatch.setattr(services_accounts, "CONFIRMATION_MAX_AGE_SECONDS", -1)
    assert client.get(reverse("accounts:confirm", args=[token])).status_code == 400
    user.refresh_from_db()
    assert not user.is_active


def test_it_refuses_login_before_the_email_is_confirmed(client, unscoped):
    """R1: an unconfirmed account gets the same generic message as a wrong password."""
    factories.UserFactory(email="new@example.com", is_active=False, email_confirmed_at=None)
    unconfirmed = _login(client, "new@example.com", PASSWORD)
    wrong = _login(client, "nobody@example.com", PASSWORD)
    assert unconfirmed.status_code == wrong.status_code == 200
    assert unconfirmed.context["form"].errors == wrong.context["form"].errors
    assert "_auth_user_id" not in client.session


def test_it_throttles_login_after_five_attempts_per_account_and_address(
    client, other_client, owner
):
    """AU-5: 5 attempts per email and IP in 15 minutes, then 429 even for the right password;
    an unknown address is answered exactly the same way."""
    for _ in range(5):
        assert _login(client, owner.email, "wrong").status_code == 200
    throttled = _login(client, owner.email, PASSWORD)
    assert throttled.status_code == 429
    assert "Too many attempts" in throttled.content.decode()
    assert "_auth_user_id" not in client.session

    for _ in range(5):
        assert _login(client, "ghost@example.com", "wrong").status_code == 200
    assert _login(client, "ghost@example.com", "wrong").status_code == 429

    # Another address is not affected by this client's failures.
    assert _login(other_client, owner.email, PASSWORD).status_code == 302


def test_it_throttles_a_password_spray_from_one_address(client):
    """AU-5: one wrong password over many accounts from one IP is throttled too."""
    codes = [_login(client, f"victim{n}@example.com", "Summer2026!").status_code for n in range(31)]
    assert codes[:30] == [200] * 30
    assert codes[30] == 429


def test_it_logs_out_by_post_only_and_the_old_session_is_dead(client, owner):
    """AU-5: logout is a POST; the old session cookie no longer opens the backend."""
    assert _login(client, owner.email, PASSWORD).status_code == 302
    old_cookie = client.cookies["sessionid"].value
    assert client.get(reverse("accounts:logout")).status_code == 405
    assert client.post(reverse("accounts:logout")).status_code == 200

    client.cookies["sessionid"] = old_cookie
    response = client.get("/backend/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_it_makes_password_reset_links_single_use(client, owner):
    """AU-5: the reset link works once; the same answer is given for unknown addresses."""
    unknown = client.post(reverse("accounts:password-reset"), {"email": "ghost@example.com"})
    assert unknown.status_code == 302 and mail.outbox == []
    response = client.post(reverse("accounts:password-reset"), {"email": owner.email})
    assert response["Location"] == unknown["Location"]
    (message,) = mail.outbox
    path = re.search(r"/accounts/reset/\S+/", message.body).group(0)

    form_url = client.get(path).url  # Django swaps the token for a session marker
    new_password = "another long Passphrase 7"
    done = client.post(form_url, {"new_password1": new_password, "new_password2": new_password})
    assert done.status_code == 302
    assert _login(client, owner.email, new_password).status_code == 302

    client.post(reverse("accounts:logout"))
    reused = client.get(path, follow=True)
    assert reused.context["validlink"] is False


def test_it_shows_the_login_page_in_german(client):
    response = client.get(reverse("accounts:login"), HTTP_ACCEPT_LANGUAGE="de")
    assert 'lang="de"' in response.content.decode()
    assert "Anmelden" in response.content.decode()


def test_it_ends_the_sessions_of_a_deactivated_user(client, owner, unscoped):
    """AU-5: deactivating a user locks them out of a session they already have."""
    assert _login(client, owner.email, PASSWORD).status_code == 302
    assert client.get("/backend/").status_code == 200
    User.objects.filter(pk=owner.pk).update(is_active=False)
    assert client.get("/backend/")["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("ticked", [True, False])
def test_it_records_the_newsletter_choice_made_at_sign_up_r41(
    ticked, client, django_capture_on_commit_callbacks, unscoped
):
    """R41, GD consent records: the optional tick box at sign-up is recorded with its source;
    without it, no consent exists."""
    changes = {"newsletter": "on"} if ticked else {}
    response, _callbacks = _signup(client, django_capture_on_commit_callbacks, **changes)

    assert response.status_code == 302
    user = User.objects.get(email="gina@gamma.example")
    consents = list(NewsletterConsent.objects.filter(user=user))
    assert [(c.source, c.withdrawn_at) for c in consents] == (
        [(NewsletterConsent.Source.SIGNUP, None)] if ticked else []
    )


def test_it_records_the_terms_accepted_at_sign_up_as_the_consent_attestation_r6_r45(
    client, django_capture_on_commit_callbacks, unscoped
):
    """R6, R45: ticking "I accept the terms" records the current versions for the new company,
    who accepted them and when; the company terms hold the invitation-consent attestation."""
    from terms.models import TermsAcceptance, TermsVersion
    from terms.services import terms_version_announce

    draft = TermsVersion.objects.create(
        kind=TermsVersion.Kind.COMPANY_TERMS,
        version="2026-01",
        title="Terms",
        body="6.2 The company attests its customers' consent to be invited.",
        effective_on=datetime.date(2026, 1, 1),
    )
    terms = terms_version_announce(version=draft, now=timezone.now())  # the first: published

    response, _callbacks = _signup(client, django_capture_on_commit_callbacks)

    assert response.status_code == 302
    user = User.objects.get(email="gina@gamma.example")
    (accepted,) = TermsAcceptance.objects.unscoped().filter(version=terms)
    assert accepted.company.name == "Gamma Garden GmbH"
    assert (accepted.how, accepted.accepted_by) == (TermsAcceptance.How.SIGNUP, user)
