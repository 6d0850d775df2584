"""The optional TOTP second factor of company users: set up, confirm, switch off on the Security
page, and the code step of the login (AU-5, ASVS 6.3.x)."""

from __future__ import annotations

import pytest
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from companies.models import Role
from companies.services_totp import BACKEND_DEVICE
from companies.views_accounts import SESSION_PENDING_LOGIN
from tests import factories
from tests.browser import FACTORY_PASSWORD as PASSWORD
from tests.browser import totp_code as code

pytestmark = pytest.mark.django_db

SECURITY = "/backend/security/"
LOGIN = "/accounts/login/"
LOGIN_CODE = "/accounts/login/code/"


def wrong(device: TOTPDevice) -> str:
    good = {code(device, offset) for offset in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in good)


@pytest.fixture
def no_device_backoff(settings):
    """django-otp also backs off exponentially after a wrong code (1 s, 2 s, ...); these tests
    send a right code right after a wrong one, so they switch that back-off off."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


@pytest.fixture
def device(owner):
    return TOTPDevice.objects.create(user=owner, name=BACKEND_DEVICE, confirmed=True)


def _log_in_with_password(client, user):
    return client.post(LOGIN, {"username": user.email, "password": PASSWORD})


# --- The Security page --------------------------------------------------------------------------


def test_it_sets_up_two_step_login_with_a_secret_and_an_otpauth_uri(client, owner, shop):
    client.force_login(owner)
    page = client.get(SECURITY)
    assert "Two-step login is off." in page.content.decode()

    response = client.post(f"{SECURITY}enable/", follow=True)

    body = response.content.decode()
    pending = TOTPDevice.objects.get(user=owner)
    assert not pending.confirmed
    assert "Add the secret to your authenticator app" in body
    assert "otpauth://totp/Review%20platform%3A" in body and "secret=" in body
    secret = body.split('<code class="bd-secret">')[1].split("<")[0]
    assert len(secret) == 32 and secret.isalnum()
    assert "no-store" in client.get(SECURITY)["Cache-Control"]


def test_it_switches_on_only_with_a_right_code(client, owner, shop, no_device_backoff):
    client.force_login(owner)
    client.post(f"{SECURITY}enable/")
    pending = TOTPDevice.objects.get(user=owner)

    refused = client.post(f"{SECURITY}confirm/", {"code": wrong(pending)})
    malformed = client.post(f"{SECURITY}confirm/", {"code": "12ab"})

    assert refused.status_code == malformed.status_code == 400
    assert 'id="id_code-error">This code is not correct.' in refused.content.decode()
    assert "Enter the 6 digits your app shows." in malformed.content.decode()
    assert not TOTPDevice.objects.get(user=owner).confirmed

    done = client.post(f"{SECURITY}confirm/", {"code": code(pending)}, follow=True)

    assert "Two-step login is on. We will ask for a code at every login." in done.content.decode()
    assert TOTPDevice.objects.get(user=owner).confirmed
    assert "bd-secret" not in done.content.decode()  # the secret is shown only while setting up


def test_it_switches_off_only_with_a_current_code(client, owner, shop, device, no_device_backoff):
    client.force_login(owner)
    assert "Two-step login is on" in client.get(SECURITY).content.decode()

    refused = client.post(f"{SECURITY}disable/", {"code": wrong(device)})
    assert refused.status_code == 400
    assert TOTPDevice.objects.filter(user=owner, confirmed=True).exists()

    done = client.post(f"{SECURITY}disable/", {"code": code(device)}, follow=True)
    assert "Two-step login is off." in done.content.decode()
    assert not TOTPDevice.objects.filter(user=owner).exists()


def test_it_never_replaces_a_confirmed_device_by_setting_up_again(client, owner, shop, device):
    client.force_login(owner)
    response = client.post(f"{SECURITY}enable/", follow=True)
    assert "Two-step login is already on." in response.content.decode()
    assert list(TOTPDevice.objects.filter(user=owner)) == [device]


def test_it_limits_code_attempts_on_the_security_page(client, owner, shop, no_device_backoff):
    client.force_login(owner)
    client.post(f"{SECURITY}enable/")
    pending = TOTPDevice.objects.get(user=owner)
    for _ in range(5):
        client.post(f"{SECURITY}confirm/", {"code": wrong(pending)})

    response = client.post(f"{SECURITY}confirm/", {"code": code(pending)})

    assert "Too many attempts" in response.content.decode()
    assert not TOTPDevice.objects.get(user=owner).confirmed


def test_it_keeps_each_users_device_to_themselves(client, owner, shop, other_owner, device):
    """TI-1: the page and its actions work on the logged-in user's own device only."""
    client.force_login(other_owner)
    assert "Two-step login is off." in client.get(SECURITY).content.decode()
    client.post(f"{SECURITY}disable/", {"code": code(device)})
    assert TOTPDevice.objects.filter(pk=device.pk, confirmed=True).exists()


def test_it_lets_viewers_use_the_security_page(client, company, shop):
    viewer = factories.MembershipFactory(company=company, role=Role.VIEWER).user
    client.force_login(viewer)
    assert client.get(SECURITY).status_code == 200


# --- The login's code step ----------------------------------------------------------------------


def test_it_logs_users_without_two_step_login_in_with_the_password(client, owner, shop):
    response = _log_in_with_password(client, owner)
    assert response.status_code == 302 and response["Location"] == "/backend/"
    assert client.get("/backend/").status_code == 200


def test_it_asks_for_the_code_before_logging_in(client, owner, shop, device):
    """AU-5: the password alone logs nobody in; the right code does, with a new session key."""
    response = _log_in_with_password(client, owner)
    assert response["Location"] == LOGIN_CODE
    assert client.get("/backend/")["Location"].startswith(LOGIN)  # not logged in yet
    key_before = client.session.session_key
    form = client.get(LOGIN_CODE).content.decode()
    assert 'autocomplete="one-time-code"' in form

    done = client.post(LOGIN_CODE, {"code": code(device)})

    assert done.status_code == 302 and done["Location"] == "/backend/"
    assert client.get("/backend/").status_code == 200
    assert client.session.session_key != key_before
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert SESSION_PENDING_LOGIN not in client.session


def test_it_refuses_a_wrong_or_reused_code(client, owner, shop, device, no_device_backoff):
    _log_in_with_password(client, owner)
    refused = client.post(LOGIN_CODE, {"code": wrong(device)})
    assert refused.status_code == 200
    assert "This code is not correct." in refused.content.decode()
    assert client.get("/backend/").status_code == 302

    used = code(device)
    client.post(LOGIN_CODE, {"code": used})
    client.post("/accounts/logout/")
    _log_in_with_password(client, owner)
    replay = client.post(LOGIN_CODE, {"code": used})
    assert "This code is not correct." in replay.content.decode()


def test_it_throttles_wrong_codes_like_wrong_passwords(client, owner, shop, device):
    """AU-5: five wrong codes per account and address, then 429 even for the right code."""
    _log_in_with_password(client, owner)
    for _ in range(5):
        assert client.post(LOGIN_CODE, {"code": wrong(device)}).status_code == 200
    assert client.post(LOGIN_CODE, {"code": code(device)}).status_code == 429
    assert client.get("/backend/").status_code == 302


def test_it_backs_off_after_a_wrong_code_in_django_otp_too(client, owner, shop, device):
    """django-otp's own per-device back-off stays on: right after a wrong code, even the right
    one is refused for a moment."""
    _log_in_with_password(client, owner)
    client.post(LOGIN_CODE, {"code": wrong(device)})
    response = client.post(LOGIN_CODE, {"code": code(device)})
    assert "This code is not correct." in response.content.decode()
    assert client.get("/backend/").status_code == 302


def test_it_sends_the_code_step_back_to_the_login_without_a_fresh_password(
    client, owner, shop, device
):
    assert client.get(LOGIN_CODE)["Location"] == LOGIN
    _log_in_with_password(client, owner)
    session = client.session
    session[SESSION_PENDING_LOGIN] = {**session[SESSION_PENDING_LOGIN], "at": 0}
    session.save()
    assert client.post(LOGIN_CODE, {"code": code(device)})["Location"] == LOGIN
    assert client.get("/backend/").status_code == 302


def test_it_keeps_the_next_page_through_the_code_step(client, owner, shop, device):
    client.post(LOGIN, {"username": owner.email, "password": PASSWORD, "next": "/backend/team/"})
    done = client.post(LOGIN_CODE, {"code": code(device)})
    assert done["Location"] == "/backend/team/"
