"""The backend shell under /backend/: login, company switcher, roles, blocked companies and the
dashboard (R2, R3, TI-1)."""

from __future__ import annotations

import datetime

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from companies.middleware import SESSION_COMPANY_KEY
from companies.models import Company, Role
from companies.views_backend import require_role
from seals import scoring
from seals.models import SealStatus
from tests import factories

pytestmark = pytest.mark.django_db

DASHBOARD = "/backend/"
SWITCH = "/backend/switch-company/"


def _seal(shop, *, count, total, tier):
    return SealStatus.objects.unscoped().create(
        company=shop.company,
        shop=shop,
        review_count=count,
        rating_sum=total,
        tier=tier,
        status_as_of=datetime.date(2026, 11, 1),
    )


def test_it_sends_anonymous_visitors_to_the_login_page(client):
    for response in (client.get(DASHBOARD), client.post(SWITCH, {"company_id": 1})):
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_it_shows_the_dashboard_in_german(client, owner, shop):
    _seal(shop, count=60, total=255, tier=scoring.BRONZE)
    client.force_login(owner)
    page = client.get(DASHBOARD, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert 'lang="de"' in page
    assert "Stand vom" in page and "Einladungen" in page


@pytest.mark.parametrize("status", [Company.Status.BLOCKED, Company.Status.ENDED])
def test_it_closes_the_backend_of_blocked_and_ended_companies(client, owner, company, status):
    """R3: a blocked company (or one whose contract ended) cannot use the backend."""
    Company.objects.filter(pk=company.pk).update(status=status)
    client.force_login(owner)
    response = client.get(DASHBOARD)
    assert response.status_code == 403
    assert "ACME-A Trading" in response.content.decode()
    assert "ACME-A Shop" not in response.content.decode()


def test_it_switches_between_the_companies_of_a_user(client, owner, shop, other_company):
    """R2: a user with several memberships switches; the dashboard follows the session."""
    factories.MembershipFactory(company=other_company, user=owner, role=Role.VIEWER)
    factories.ShopFactory(company=other_company, name="BETA-B Shop")
    client.force_login(owner)
    assert "ACME-A Shop" in client.get(DASHBOARD).content.decode()
    assert 'id="switch-company"' in client.get(DASHBOARD).content.decode()

    response = client.post(SWITCH, {"company_id": other_company.pk}, follow=True)
    page = response.content.decode()
    assert "BETA-B Shop" in page and "ACME-A Shop" not in page
    assert "You are now working on BETA-B Retail." in page
    assert client.session[SESSION_COMPANY_KEY] == other_company.pk


def test_it_lets_a_blocked_companys_user_switch_to_another_company(
    client, owner, company, other_company
):
    factories.MembershipFactory(company=other_company, user=owner, role=Role.VIEWER)
    Company.objects.filter(pk=company.pk).update(status=Company.Status.BLOCKED)
    client.force_login(owner)
    session = client.session
    session[SESSION_COMPANY_KEY] = company.pk
    session.save()
    assert client.get(DASHBOARD).status_code == 403
    assert client.post(SWITCH, {"company_id": other_company.pk}).status_code == 302
    assert client.get(DASHBOARD).status_code == 200


def test_it_refuses_a_foreign_company_id_like_a_missing_one(client, owner, company, other_company):
    """TI-1: switching to a company one is no member of is a 404, like an id that does not
    exist; the session keeps its company."""
    client.force_login(owner)
    client.get(DASHBOARD)
    missing = Company.objects.order_by("-pk").first().pk + 1000
    foreign = client.post(SWITCH, {"company_id": other_company.pk})
    absent = client.post(SWITCH, {"company_id": missing})
    garbage = client.post(SWITCH, {"company_id": "x"})
    assert foreign.status_code == absent.status_code == garbage.status_code == 404
    assert client.session[SESSION_COMPANY_KEY] == company.pk


def test_it_shows_a_clear_page_to_users_without_a_company(client):
    user = factories.UserFactory()
    client.force_login(user)
    response = client.get(DASHBOARD)
    assert response.status_code == 403
    assert "does not belong to any company" in response.content.decode()


@pytest.mark.parametrize(
    ("role", "minimum", "allowed"),
    [
        (Role.VIEWER, Role.VIEWER, True),
        (Role.VIEWER, Role.MANAGER, False),
        (Role.MANAGER, Role.MANAGER, True),
        (Role.MANAGER, Role.OWNER, False),
        (Role.OWNER, Role.OWNER, True),
        (Role.OWNER, Role.VIEWER, True),
    ],
)
def test_it_enforces_roles_owner_above_manager_above_viewer(company, role, minimum, allowed):
    """R2: owner > manager > viewer; a lower role gets a clear 403 page."""
    user = factories.MembershipFactory(company=company, role=role).user

    @require_role(minimum)
    def view(request):
        return HttpResponse("done")

    request = RequestFactory().get("/backend/x/")
    request.user, request.company, request.session = user, company, {}
    response = view(request)
    assert (response.status_code == 200) is allowed
    if not allowed:
        assert "does not allow this" in response.content.decode()


def test_it_refuses_a_user_whose_membership_is_elsewhere(company, other_company):
    """TI-1: a company in request.company the user is no member of is a 404, never a page."""
    outsider = factories.MembershipFactory(company=other_company, role=Role.OWNER).user

    @require_role(Role.VIEWER)
    def view(request):
        return HttpResponse("A's data")

    request = RequestFactory().get("/backend/x/")
    request.user, request.company, request.session = outsider, company, {}
    with pytest.raises(Exception) as error:
        view(request)
    assert error.type.__name__ == "Http404"
