"""Erasure of one evaluator's data on the company's request (R42, R43, GD-1)."""

from __future__ import annotations

import json

import pytest
from django.core.files.base import ContentFile

from invitations.models import Invitation, LinkRequest
from moderation.erasure import EvaluatorNotFound, evaluator_erase
from moderation.log import log_verify
from moderation.models import Complaint, ModerationLogEntry
from reviews.models import DialogueMessage, DialogueThread, Review, ReviewMedia, ReviewVersion
from reviews.signals import review_changed
from tests import factories

pytestmark = pytest.mark.django_db

EMAIL = "eve-marker@example.test"


@pytest.fixture
def eve(shop):
    invitation = factories.InvitationFactory(
        shop=shop,
        order__order_id="EVE-1",
        email=EMAIL,
        first_name="Eve",
        last_name="Marker",
        status="rated",
    )
    review = factories.ReviewFactory(
        shop=shop,
        invitation=invitation,
        rating=4,
        comment="Eve Marker says: great shop",
        display_name="Eve M.",
        dialogue_email=EMAIL,
    )
    media = factories.ReviewMediaFactory(shop=shop, review=review)
    ReviewVersion.objects.for_company(shop.company_id).create(
        company=shop.company,
        shop=shop,
        review=review,
        version=1,
        rating=4,
        comment="Eve Marker draft",
    )
    thread = DialogueThread.objects.for_company(shop.company_id).create(
        company=shop.company, shop=shop, review=review
    )
    DialogueMessage.objects.for_company(shop.company_id).create(
        company=shop.company,
        shop=shop,
        thread=thread,
        sender=DialogueMessage.Sender.EVALUATOR,
        text="Eve Marker here",
        submitted_text="Eve Marker here",
    )
    request = factories.LinkRequestFactory(
        shop=shop, order=invitation.order, email=EMAIL, message="I am Eve Marker"
    )
    request.evidence.save("receipt.pdf", ContentFile(b"%PDF Eve Marker"))
    complaint = Complaint.objects.for_company(shop.company_id).create(
        company=shop.company,
        shop=shop,
        review=review,
        source=Complaint.Source.COMPANY,
        reason=Complaint.ReasonCode.UNTRUE,
        explanation="the company's own words",
        statement="Eve Marker: it is true",
    )
    return {
        "invitation": invitation,
        "review": review,
        "media": media,
        "request": request,
        "complaint": complaint,
    }


def _fresh(model, pk):
    return model.objects.unscoped().get(pk=pk)


def _assert_no_pii(eve):
    invitation = _fresh(Invitation, eve["invitation"].pk)
    assert (invitation.email, invitation.first_name, invitation.last_name) == ("", "", "")
    assert invitation.personal_data_erased_at is not None
    review = _fresh(Review, eve["review"].pk)
    assert (review.comment, review.display_name, review.dialogue_email) == ("", "", "")
    assert review.invitation_id is None and review.is_transaction_based
    assert not ReviewMedia.objects.unscoped().filter(pk=eve["media"].pk).exists()
    assert not eve["media"].file.storage.exists(eve["media"].file.name)
    assert set(ReviewVersion.objects.unscoped().values_list("comment", flat=True)) == {""}
    texts = DialogueMessage.objects.unscoped().values_list("text", "submitted_text")
    assert set(texts) == {("", "")}
    request = _fresh(LinkRequest, eve["request"].pk)
    assert (request.email, request.message, request.evidence.name) == ("", "", "")
    complaint = _fresh(Complaint, eve["complaint"].pk)
    assert (complaint.statement, complaint.explanation) == ("", "the company's own words")
    return review


def test_it_anonymises_the_review_keeping_the_stars(shop, eve, owner):
    """R42, GD-1: the invitation and everything Eve wrote goes; the rating stays published."""
    result = evaluator_erase(company=shop.company, order_id="EVE-1", actor=owner)

    review = _assert_no_pii(eve)
    assert (review.rating, review.status) == (4, Review.Status.PUBLISHED)
    assert (result.invitations, result.reviews) == (1, 1)
    assert result.references == (str(eve["invitation"].public_id),)


def test_it_deletes_the_review_when_asked(shop, eve, owner):
    """R42, GD-1: delete mode removes the review from averages and clears its text."""
    Complaint.objects.unscoped().filter(pk=eve["complaint"].pk).update(complainant_email=EMAIL)
    evaluator_erase(company=shop.company, email=EMAIL.upper(), mode="delete", actor=owner)

    review = _assert_no_pii(eve)
    assert _fresh(Complaint, eve["complaint"].pk).complainant_email == ""
    assert review.status == Review.Status.DELETED and review.deleted_at is not None


def test_it_recomputes_seals_after_commit(shop, eve, owner, django_capture_on_commit_callbacks):
    """GD-1: averages and seals are recomputed (review_changed is announced)."""
    calls = []

    def receiver(**kwargs):
        calls.append(kwargs)

    review_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            evaluator_erase(company=shop.company, order_id="EVE-1", mode="delete", actor=owner)
    finally:
        review_changed.disconnect(receiver)
    assert [(c["company_id"], c["shop_id"]) for c in calls] == [(shop.company_id, shop.pk)]


def test_it_logs_only_a_pseudonymous_reference(shop, eve, owner):
    """R43, GD-1: the hash-chained log names the invitation by public id, never Eve."""
    evaluator_erase(company=shop.company, order_id="EVE-1", actor=owner)

    entries = ModerationLogEntry.objects.for_company(shop.company_id)
    assert entries.count() == 2
    dumped = json.dumps(list(entries.values()), default=str)
    for personal in (EMAIL, "Eve", "Marker", "EVE-1"):
        assert personal not in dumped
    assert str(eve["invitation"].public_id) in dumped
    assert log_verify().broken_at is None


def test_it_changes_nothing_of_another_company(shop, other_shop, eve, owner):
    """R4, GD-1: another company's order id or email reads like a missing one."""
    with pytest.raises(EvaluatorNotFound):
        evaluator_erase(company=other_shop.company, order_id="EVE-1", actor=owner)
    with pytest.raises(EvaluatorNotFound):
        evaluator_erase(company=other_shop.company, email=EMAIL, actor=owner)
    assert _fresh(Invitation, eve["invitation"].pk).email == EMAIL
    assert _fresh(Review, eve["review"].pk).comment.startswith("Eve Marker")
    assert not ModerationLogEntry.objects.unscoped().exists()


def test_it_stops_an_invitation_not_yet_sent(shop, owner):
    """GD-1: an invitation still waiting is never sent once its address is erased."""
    invitation = factories.InvitationFactory(shop=shop, order__order_id="LATER-1")
    evaluator_erase(company=shop.company, order_id="LATER-1", actor=owner)
    invitation = _fresh(Invitation, invitation.pk)
    assert invitation.status == Invitation.Status.SUPPRESSED
    assert invitation.email == ""


def test_it_erases_through_the_api(api_client, shop, eve):
    """R42, GD-1: POST /api/v1/erasures answers with pseudonymous references only."""
    response = api_client.post(
        "/api/v1/erasures", {"order_id": "EVE-1", "mode": "anonymise"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json() == {
        "mode": "anonymise",
        "invitations": 1,
        "reviews": 1,
        "references": [str(eve["invitation"].public_id)],
    }
    assert EMAIL.encode() not in response.content
    _assert_no_pii(eve)


def test_it_answers_another_companys_order_like_a_missing_one(other_api_client, shop, eve):
    """R4, GD-1: B's key with A's order id or A's evaluator's email gets 404; A is untouched."""
    foreign = other_api_client.post("/api/v1/erasures", {"order_id": "EVE-1"}, format="json")
    missing = other_api_client.post("/api/v1/erasures", {"order_id": "NO-SUCH"}, format="json")
    by_email = other_api_client.post("/api/v1/erasures", {"email": EMAIL}, format="json")
    assert foreign.status_code == missing.status_code == by_email.status_code == 404
    assert foreign.content == missing.content
    assert _fresh(Invitation, eve["invitation"].pk).email == EMAIL
    assert _fresh(Review, eve["review"].pk).display_name == "Eve M."


def test_it_refuses_a_request_without_a_target_or_with_unknown_fields(api_client, shop):
    """GD-1: order_id or email is required; server-owned fields are refused (TI-2)."""
    assert api_client.post("/api/v1/erasures", {}, format="json").status_code == 400
    bad_mode = {"order_id": "X", "mode": "shred"}
    assert api_client.post("/api/v1/erasures", bad_mode, format="json").status_code == 400
    extra = {"order_id": "X", "company": 1}
    assert api_client.post("/api/v1/erasures", extra, format="json").status_code == 400
