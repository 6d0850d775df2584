"""Team: owners invite colleagues with a role, change roles and remove members; the last owner
stays (R2, TI-1)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from companies import services_accounts
from companies.models import Company, Membership, Role, User
from companies.services_accounts import team_invitation_token
from tests import factories

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a long Passphrase 2026!"


def _join_path() -> str:
    (message,) = mail.outbox
    return urlsplit(re.search(r"https?://\S+/accounts/join/\S+/", message.body).group(0)).path


def _member(company, role):
    return factories.MembershipFactory(company=company, role=role)


def test_it_lists_members_of_the_own_company_only(client, owner, company, other_owner):
    """R2/TI-1: the team page shows this company's people, never another company's."""
    colleague = _member(company, Role.VIEWER)
    client.force_login(owner)
    page = client.get(reverse("backend:team")).content.decode()
    assert owner.email in page and colleague.user.email in page
    assert other_owner.email not in page


def test_it_invites_a_new_person_who_sets_a_password_and_joins(client, owner, company, unscoped):
    """R2: the owner invites by email with a role; the invitee sets name and password."""
    client.force_login(owner)
    response = client.post(
        reverse("backend:team-invite"), {"email": "New.Colleague@example.com", "role": "manager"}
    )
    assert response.status_code == 302
    assert mail.outbox[0].to == ["new.colleague@example.com"]
    assert "ACME-A Trading" in mail.outbox[0].subject
    path = _join_path()

    client.post(reverse("accounts:logout"))
    assert "new.colleague@example.com" in client.get(path).content.decode()
    joined = client.post(path, {"first_name": "Nia", "last_name": "New", "password": NEW_PASSWORD})
    assert joined.status_code == 302

    user = User.objects.get(email="new.colleague@example.com")
    assert user.is_active and user.email_confirmed_at is not None
    assert Membership.objects.get(user=user, company=company).role == Role.MANAGER
    login = client.post(
        reverse("accounts:login"), {"username": user.email, "password": NEW_PASSWORD}
    )
    assert login.status_code == 302
    assert "ACME-A Trading" in client.get("/backend/").content.decode()


def test_it_lets_an_existing_user_join_after_logging_in(client, owner, company, other_owner):
    """R2: someone with a login at another company joins with that login and can switch."""
    token = team_invitation_token(company=company, email=other_owner.email, role=Role.VIEWER)
    path = reverse("accounts:join", args=[token])

    assert client.get(path)["Location"].startswith("/accounts/login/")
    client.force_login(owner)  # the wrong person is logged in
    assert client.post(path)["Location"].startswith("/accounts/login/")
    assert Membership.objects.for_company(company).filter(user=other_owner).count() == 0

    client.force_login(other_owner)
    assert client.post(path).status_code == 302
    membership = Membership.objects.for_company(company).get(user=other_owner)
    assert membership.role == Role.VIEWER
    assert "ACME-A Trading" in client.get("/backend/").content.decode()


def test_it_refuses_tampered_and_expired_invitation_links(client, company, monkeypatch):
    token = team_invitation_token(company=company, email="x@example.com", role=Role.OWNER)
    assert client.get(reverse("accounts:join", args=[token[:-2] + "zz"])).status_code == 400
    monkeypatch.setattr(services_accounts, "TEAM_INVITATION_MAX_AGE_SECONDS", -1)
    assert client.get(reverse("accounts:join", args=[token])).status_code == 400


def test_it_refuses_invitations_of_a_blocked_company(client, company):
    token = team_invitation_token(company=company, email="x@example.com", role=Role.OWNER)
    Company.objects.filter(pk=company.pk).update(status=Company.Status.BLOCKED)
    assert client.get(reverse("accounts:join", args=[token])).status_code == 400


def test_it_changes_roles_and_removes_members(client, owner, company):
    """R2: owners change roles and remove people; each action says what it did."""
    colleague = _member(company, Role.VIEWER)
    client.force_login(owner)
    response = client.post(
        reverse("backend:team-role", args=[colleague.pk]), {"role": "manager"}, follow=True
    )
    assert f"{colleague.user.email} is now manager." in response.content.decode()
    assert Membership.objects.for_company(company).get(pk=colleague.pk).role == Role.MANAGER

    response = client.post(reverse("backend:team-remove", args=[colleague.pk]), follow=True)
    assert "was removed from the team." in response.content.decode()
    assert not Membership.objects.for_company(company).filter(pk=colleague.pk).exists()


def test_it_keeps_the_last_owner(client, owner, company):
    """R2: the last owner can be neither removed nor demoted; a second owner can be."""
    own = Membership.objects.for_company(company).get(user=owner)
    client.force_login(owner)
    demote = client.post(
        reverse("backend:team-role", args=[own.pk]), {"role": "viewer"}, follow=True
    )
    assert "needs at least one owner" in demote.content.decode()
    remove = client.post(reverse("backend:team-remove", args=[own.pk]), follow=True)
    assert "last owner cannot be removed" in remove.content.decode()
    assert Membership.objects.for_company(company).get(pk=own.pk).role == Role.OWNER

    second = _member(company, Role.OWNER)
    client.post(reverse("backend:team-remove", args=[second.pk]))
    assert not Membership.objects.for_company(company).filter(pk=second.pk).exists()


@pytest.mark.parametrize("role", [Role.MANAGER, Role.VIEWER])
def test_it_lets_only_owners_manage_the_team(client, company, owner, role):
    """R2: managers and viewers see the team but cannot invite, change roles or remove."""
    user = _member(company, role).user
    own = Membership.objects.for_company(company).get(user=owner)
    client.force_login(user)
    page = client.get(reverse("backend:team"))
    assert page.status_code == 200 and "Send invitation" not in page.content.decode()
    attempts = [
        client.post(reverse("backend:team-invite"), {"email": "x@example.com", "role": "owner"}),
        client.post(reverse("backend:team-role", args=[own.pk]), {"role": "viewer"}),
        client.post(reverse("backend:team-remove", args=[own.pk])),
    ]
    assert [r.status_code for r in attempts] == [403, 403, 403]
    assert mail.outbox == []
    assert Membership.objects.for_company(company).get(pk=own.pk).role == Role.OWNER


def test_it_refuses_to_invite_an_existing_member(client, owner):
    client.force_login(owner)
    response = client.post(reverse("backend:team-invite"), {"email": owner.email, "role": "owner"})
    assert response.status_code == 400
    assert "already a member" in response.content.decode()
    assert mail.outbox == []


def test_it_lists_the_team_in_a_fixed_number_of_queries(client, owner, company):
    """STYLE 10: session, user, company (middleware), membership (role check), company list
    (switcher), members with their users: the same for 2 members and for 6."""
    _member(company, Role.VIEWER)
    client.force_login(owner)
    client.get(reverse("backend:team"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("backend:team"))
    for _ in range(4):
        _member(company, Role.MANAGER)
    with CaptureQueriesContext(connection) as many:
        page = client.get(reverse("backend:team"))
    assert page.content.decode().count("Change role") == 6
    assert len(many) == len(few)


def test_it_shows_the_team_page_in_german(client, owner):
    client.force_login(owner)
    page = client.get(reverse("backend:team"), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Kollegen einladen" in page and "Inhaber/in" in page
