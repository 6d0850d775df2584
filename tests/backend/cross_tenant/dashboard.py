"""Matrix rows for the dashboard's tips and the Security page (R48, AU-5, TI-1)."""

from __future__ import annotations

from django_otp.plugins.otp_totp.models import TOTPDevice

from companies.models import Role
from companies.services_totp import BACKEND_DEVICE
from guidance.models import Tip
from guidance.services import tip_dismiss
from tests import factories

ROWS = {
    # A's shop id in B's session: a 404, and A's colleague's dismissal stays as it is.
    "tip-dismiss": ("post", "/backend/tips/{shop}/negative-review/dismiss/", {}, 404),
    # The Security pages name no object: B's user sees and changes only their own device.
    "security": ("get", "/backend/security/", {}, 200),
    "security-enable": ("post", "/backend/security/enable/", {}, 302),
    "security-confirm": ("post", "/backend/security/confirm/", {"code": "123456"}, 400),
    "security-disable": ("post", "/backend/security/disable/", {"code": "123456"}, 400),
}


def seed(company, shop) -> dict:
    viewer = factories.MembershipFactory(company=company, role=Role.VIEWER).user
    factories.ReviewFactory(shop=shop, rating=1)  # would show A's negative-review tip
    tip_dismiss(user=viewer, shop=shop, tip=Tip.SEAL_AT_RISK)
    TOTPDevice.objects.create(user=viewer, name=BACKEND_DEVICE, confirmed=True)
    return {}
