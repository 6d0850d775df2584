"""Link requests: a buyer without a rating link asks for one (R10, 004 §5.9).

The answer to the requester never says whether the order exists (no enumeration): the link goes
out by email when the order is known, its invitation is usable and the email matches; every
other request waits for staff, who see the evidence and approve or reject.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from companies.models import Shop
from companies.tenancy import tenant_scope
from invitations import emails
from invitations.ingest import OrderInput, normalize_email, orders_ingest
from invitations.models import Invitation, LinkRequest, Order

logger = logging.getLogger(__name__)

EVIDENCE_MAX_BYTES = 5 * 1024 * 1024
EVIDENCE_TYPES = {
    b"%PDF": "application/pdf",
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG": "image/png",
}


class EvidenceError(ValueError):
    pass


def evidence_check(upload) -> None:
    if upload.size > EVIDENCE_MAX_BYTES:
        raise EvidenceError("The evidence file may be at most 5 MB.")
    head = upload.read(8)
    upload.seek(0)
    if not any(head.startswith(magic) for magic in EVIDENCE_TYPES):
        raise EvidenceError("Send the evidence as a PDF, JPEG or PNG file.")


def _same_address(stored: str, given: str) -> bool:
    try:
        return bool(stored) and normalize_email(stored).lower() == given.lower()
    except ValueError:
        return False


def _can_send_automatically(invitation: Invitation | None, email: str, has_evidence: bool) -> bool:
    if invitation is None or has_evidence:
        return False
    usable = invitation.is_link_valid and (
        invitation.suppression_reason != Invitation.SuppressionReason.SELECTION_GROUP
    )  # 004 §5.9: never outside an approved selection group
    return usable and _same_address(invitation.email, email)


def link_request_create(
    *, shop: Shop, email: str, order_reference: str, evidence=None, message: str = ""
) -> LinkRequest:
    email = normalize_email(email)  # ValueError with a reason for the form
    with tenant_scope(shop.company_id), transaction.atomic():
        order = Order.objects.filter(shop=shop, order_id=order_reference.strip()).first()
        invitation = Invitation.objects.filter(order=order).first() if order else None
        automatic = _can_send_automatically(invitation, email, evidence is not None)
        request = LinkRequest(
            company_id=shop.company_id,
            shop=shop,
            order=order,
            order_reference=order_reference.strip()[:255],
            email=email,
            message=message[:2000],
            status=LinkRequest.Status.SENT if automatic else LinkRequest.Status.PENDING,
        )
        if evidence is not None:
            request.evidence.save("evidence", evidence, save=False)
        request.save()
        if automatic:
            _queue_email(request.pk)
    return request


def _queue_email(link_request_id: int) -> None:
    from invitations.tasks import send_link_request_email

    transaction.on_commit(lambda: send_link_request_email.delay(link_request_id))


def link_request_approve(*, link_request_id: int, staff_user) -> LinkRequest:
    """Staff accept the evidence: the order is created if unknown, the link is sent (R10)."""
    company_id = (
        LinkRequest.objects.unscoped().values_list("company_id", flat=True).get(pk=link_request_id)
    )
    with tenant_scope(company_id), transaction.atomic():
        request = (
            LinkRequest.objects.select_for_update().select_related("shop").get(pk=link_request_id)
        )
        if request.status != LinkRequest.Status.PENDING:
            return request
        if request.order_id is None:
            orders_ingest(
                shop=request.shop,
                orders=[OrderInput(order_id=request.order_reference, email=request.email)],
            )
            request.order = Order.objects.get(shop=request.shop, order_id=request.order_reference)
        # The evaluator proved the purchase: the link goes to the address they gave us.
        Invitation.objects.filter(order=request.order).update(
            email=request.email, updated_at=timezone.now()
        )
        request.status = LinkRequest.Status.APPROVED
        request.decided_by, request.decided_at = staff_user, timezone.now()
        request.save()
        _queue_email(request.pk)
    return request


def link_request_reject(*, link_request_id: int, staff_user) -> None:
    LinkRequest.objects.unscoped().filter(
        pk=link_request_id, status=LinkRequest.Status.PENDING
    ).update(status=LinkRequest.Status.REJECTED, decided_by=staff_user, decided_at=timezone.now())


def link_request_email_send(*, link_request_id: int) -> bool:
    """Send the rating link once: claim by stamping sent_at, release it if SMTP fails."""
    company_id = (
        LinkRequest.objects.unscoped()
        .filter(pk=link_request_id)
        .values_list("company_id", flat=True)
        .first()
    )
    if company_id is None:
        return False
    with tenant_scope(company_id):
        claimed = LinkRequest.objects.filter(
            pk=link_request_id,
            sent_at__isnull=True,
            status__in=[LinkRequest.Status.SENT, LinkRequest.Status.APPROVED],
        ).update(sent_at=timezone.now())
        if not claimed:
            return False
        request = LinkRequest.objects.select_related("order").get(pk=link_request_id)
        invitation = Invitation.objects.select_related("shop", "order").get(order=request.order)
        message = emails.invitation_message(invitation, kind="invitation")
        message.to = [request.email]
        message.extra_headers["Message-ID"] = (
            f"<link-request-{request.pk}-{invitation.public_id}@{emails._mail_domain()}>"
        )
        try:
            message.send()
        except Exception:
            LinkRequest.objects.filter(pk=link_request_id).update(sent_at=None)
            raise
        # The link is out: a still-scheduled invitation must not send it a second time.
        Invitation.objects.filter(pk=invitation.pk, status=Invitation.Status.SCHEDULED).update(
            status=Invitation.Status.SENT, sent_at=timezone.now(), updated_at=timezone.now()
        )
    logger.info("link request %s answered with invitation %s", request.pk, invitation.public_id)
    return True
