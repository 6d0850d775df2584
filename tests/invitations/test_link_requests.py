"""Link requests from the certificate page (R10, 004 §5.9): no enumeration, staff for the rest."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from invitations import tokens
from invitations.link_requests import (
    link_request_approve,
    link_request_create,
    link_request_email_send,
    link_request_reject,
)
from invitations.models import Invitation, LinkRequest, Order
from tests import factories

pytestmark = pytest.mark.django_db


def address() -> str:
    return "10.66." + ".".join(str(secrets.randbelow(250) + 1) for _ in range(2))


@pytest.fixture
def invitation(shop):
    return factories.InvitationFactory(
        shop=shop, email="kim@example.net", status="scheduled", order__order_id="A-100"
    )


def url(shop):
    return f"/c/{shop.slug}/request-link/"


def requests_of(shop):
    return LinkRequest.objects.for_company(shop.company).filter(shop=shop)


def test_it_sends_the_link_at_once_for_a_known_order_and_matching_email(
    client, shop, invitation, django_capture_on_commit_callbacks
):
    """R10: known order + the email on file: the link goes out automatically, once."""
    with django_capture_on_commit_callbacks() as queued:
        response = client.post(
            url(shop),
            {"email": "Kim@Example.net", "order_reference": "A-100"},
            REMOTE_ADDR=address(),
        )
    assert response.status_code == 200
    request = requests_of(shop).get()
    assert (request.status, request.order_id) == ("sent", invitation.order_id)
    assert len(queued) == 1
    assert link_request_email_send(link_request_id=request.pk) is True
    assert link_request_email_send(link_request_id=request.pk) is False  # never twice
    message = mail.outbox[-1]
    assert message.to == ["Kim@example.net"]  # the local part is kept as typed (IN-4)
    assert tokens.rating_url(invitation.token_nonce) in message.body
    assert message.extra_headers["Message-ID"].startswith(f"<link-request-{request.pk}-")
    # The scheduled invitation must not send the same link again.
    assert Invitation.objects.unscoped().get(pk=invitation.pk).status == "sent"


def test_it_answers_alike_whether_or_not_the_order_exists(client, shop, invitation):
    """R10: no way to learn whether an order number exists."""
    known = client.post(
        url(shop), {"email": "kim@example.net", "order_reference": "A-100"}, REMOTE_ADDR=address()
    )
    unknown = client.post(
        url(shop), {"email": "kim@example.net", "order_reference": "NOPE-1"}, REMOTE_ADDR=address()
    )
    mismatch = client.post(
        url(shop), {"email": "eve@example.net", "order_reference": "A-100"}, REMOTE_ADDR=address()
    )
    assert known.status_code == unknown.status_code == mismatch.status_code == 200
    assert known.content == unknown.content == mismatch.content
    assert list(requests_of(shop).order_by("pk").values_list("status", flat=True)) == [
        "sent",
        "pending",
        "pending",
    ]


def test_it_keeps_evidence_private_and_waits_for_staff(client, shop, invitation):
    """R10: evidence is only for staff: stored outside MEDIA_ROOT, without a URL."""
    pdf = SimpleUploadedFile("invoice.pdf", b"%PDF-1.7 order A-100", "application/pdf")
    response = client.post(
        url(shop),
        {"email": "kim@example.net", "order_reference": "A-100", "evidence": pdf},
        REMOTE_ADDR=address(),
    )
    assert response.status_code == 200
    request = requests_of(shop).get()
    assert request.status == "pending"
    stored = Path(request.evidence.path)
    assert stored.is_relative_to(Path(settings.PRIVATE_MEDIA_ROOT))
    assert not stored.is_relative_to(Path(settings.MEDIA_ROOT))
    with pytest.raises(ValueError):
        request.evidence.url  # noqa: B018 (no URL exists for private files)


def test_it_refuses_evidence_that_is_not_a_pdf_or_image(client, shop):
    bad = SimpleUploadedFile("x.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")
    response = client.post(
        url(shop),
        {"email": "kim@example.net", "order_reference": "A-1", "evidence": bad},
        REMOTE_ADDR=address(),
    )
    assert response.status_code == 400
    assert "PDF, JPEG or PNG" in response.content.decode()
    assert not requests_of(shop).exists()


def test_it_explains_a_bad_email_and_stores_nothing(client, shop):
    response = client.post(
        url(shop), {"email": "nope", "order_reference": "A-1"}, REMOTE_ADDR=address()
    )
    assert response.status_code == 400
    assert "valid email" in response.content.decode()
    assert not requests_of(shop).exists()


def test_it_lets_staff_approve_an_unknown_order_and_sends_the_link(
    shop, django_capture_on_commit_callbacks
):
    """R10: after staff review the order is created and the link sent to the requester."""
    staff = factories.UserFactory(is_staff=True)
    request = link_request_create(shop=shop, email="new@example.net", order_reference="B-7")
    assert request.status == "pending"
    with django_capture_on_commit_callbacks(execute=False):
        link_request_approve(link_request_id=request.pk, staff_user=staff)
    order = Order.objects.for_company(shop.company).get(order_id="B-7")
    assert Invitation.objects.for_company(shop.company).get(order=order).email == "new@example.net"
    assert link_request_email_send(link_request_id=request.pk) is True
    assert mail.outbox[-1].to == ["new@example.net"]
    request.refresh_from_db()
    assert (request.status, request.decided_by) == ("approved", staff)


def test_it_lets_staff_reject_and_sends_nothing(shop):
    staff = factories.UserFactory(is_staff=True)
    request = link_request_create(shop=shop, email="x@example.net", order_reference="C-1")
    link_request_reject(link_request_id=request.pk, staff_user=staff)
    assert link_request_email_send(link_request_id=request.pk) is False
    assert requests_of(shop).get().status == "rejected"
    assert not mail.outbox


def test_it_never_sends_outside_an_approved_selection_group(shop):
    """004 §5.9: no link for an order outside the defined selection group."""
    factories.InvitationFactory(
        shop=shop,
        email="kim@example.net",
        status="suppressed",
        suppression_reason="selection_group",
        order__order_id="S-1",
    )
    request = link_request_create(shop=shop, email="kim@example.net", order_reference="S-1")
    assert request.status == "pending"


def test_it_never_matches_another_companys_order(shop, other_shop):
    """R4: an order number of company B asked for on A's page stays B's and unsent."""
    theirs = factories.InvitationFactory(
        shop=other_shop, email="kim@example.net", order__order_id="SHARED-9"
    )
    request = link_request_create(shop=shop, email="kim@example.net", order_reference="SHARED-9")
    assert (request.status, request.order_id) == ("pending", None)
    assert Invitation.objects.unscoped().get(pk=theirs.pk).status == theirs.status


def test_it_limits_requests_per_client_address(client, shop):
    ip = address()
    statuses = [
        client.post(
            url(shop), {"email": "a@example.net", "order_reference": f"X-{n}"}, REMOTE_ADDR=ip
        ).status_code
        for n in range(6)
    ]
    assert statuses == [200] * 5 + [429]
    assert requests_of(shop).count() == 5
