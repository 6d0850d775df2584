"""Matrix rows for the invitations area: list, detail, CSV imports, email templates (TI-1).

Email templates are addressed by kind and language, not by id: B's requests work on B's own
shop (the one in B's session), so they answer normally and never touch A's template.
"""

from __future__ import annotations

from invitations.emails import email_template_save
from invitations.models import OrderImport
from tests import factories

_TEMPLATE = "/backend/invitations/templates/invitation/en/"
_DRAFT = {"subject": "Hello", "body": "Please rate us."}

ROWS = {
    "invitations": ("get", "/backend/invitations/", {}, 200),
    "invitations-detail": ("get", "/backend/invitations/{invitation}/", {}, 404),
    "invitations-imports": ("get", "/backend/invitations/imports/", {}, 200),
    # No file: B's own form answers with its error; nothing is stored for anyone.
    "invitations-import-upload": ("post", "/backend/invitations/imports/upload/", {}, 400),
    "invitations-import": ("get", "/backend/invitations/imports/{order_import}/", {}, 404),
    "invitations-import-status": (
        "get",
        "/backend/invitations/imports/{order_import}/status/",
        {},
        404,
    ),
    "invitations-import-report": (
        "get",
        "/backend/invitations/imports/{order_import}/report/",
        {},
        404,
    ),
    "invitations-templates": ("get", "/backend/invitations/templates/", {}, 200),
    "invitations-template": ("get", _TEMPLATE, {}, 200),
    "invitations-template-save": ("post", _TEMPLATE + "save/", _DRAFT, 302),
    "invitations-template-preview": ("post", _TEMPLATE + "preview/", _DRAFT, 200),
    "invitations-template-reset": ("post", _TEMPLATE + "reset/", {}, 302),
    "invitations-template-test": ("post", _TEMPLATE + "test/", _DRAFT, 200),
}


def seed(company, shop) -> dict:
    invitation = factories.InvitationFactory(shop=shop, email="acme-a-customer@example.net")
    job = OrderImport.objects.unscoped().create(
        company=company,
        shop=shop,
        original_name="ACME-A orders.csv",
        status=OrderImport.Status.DONE,
        report_sample=[{"line": 2, "order_id": "ACME-A-1", "reason": "ACME-A reason"}],
    )
    email_template_save(
        shop=shop, kind="invitation", locale="en", subject="ACME-A subject", body="ACME-A body"
    )
    return {"invitation": str(invitation.public_id), "order_import": str(job.public_id)}
