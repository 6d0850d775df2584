"""Complaints (R20, 004 §5.4, §5.8) and replacing a removed review (R21).

Companies complain through ``/api/v1/complaints``, anyone else through the report form of the
certificate page. The review stays visible; company complaints more than 12 months after
publication are accepted and marked out of time; the evaluator may be asked for a statement;
both sides hear the decision.
"""

from __future__ import annotations

import datetime
import secrets

import pytest
from dateutil.relativedelta import relativedelta
from django.urls import reverse
from django.utils import timezone

from companies.services_staff import staff_user_upsert
from moderation import complaints, services, tokens
from moderation.models import Complaint, ModerationLogEntry, OutboundEmail, ReplacementOffer
from reviews.models import Review
from tests import factories

pytestmark = pytest.mark.django_db

API = "/api/v1/complaints"


@pytest.fixture
def moderator():
    return staff_user_upsert(
        email="mod@platform.example", password="x-long-pass-99", moderator=True
    ).user


def published(shop, months_ago: int = 0, **fields) -> Review:
    moment = timezone.now() - relativedelta(months=months_ago) - datetime.timedelta(days=1)
    moment = moment if months_ago else timezone.now()
    return factories.ReviewFactory(shop=shop, submitted_at=moment, published_at=moment, **fields)


def fresh_address() -> str:
    """A client address of its own: report counters live in Redis for an hour."""
    return "10." + ".".join(str(secrets.randbelow(250) + 1) for _ in range(3))


def report(client, url, data):
    return client.post(url, data, REMOTE_ADDR=fresh_address())


def complain(api_client, review, **extra):
    body = {"review": str(review.public_id), "reason": "untrue", **extra}
    return api_client.post(API, body, format="json")


# --- Company complaints through the API ------------------------------------------------------


def test_it_accepts_a_company_complaint_and_keeps_the_review_visible(api_client, shop):
    review = published(shop)
    response = complain(api_client, review, explanation="We never sold this product.")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["review"], body["reason"], body["status"], body["out_of_time"]) == (
        str(review.public_id),
        "untrue",
        "open",
        False,
    )
    complaint = Complaint.objects.for_company(shop.company).get()
    assert (complaint.source, complaint.explanation) == ("company", "We never sold this product.")
    assert Review.objects.for_company(shop.company).get(pk=review.pk).status == "published"
    assert api_client.get(f"{API}/{body['id']}").json()["id"] == body["id"]
    assert [c["id"] for c in api_client.get(API).json()] == [body["id"]]


@pytest.mark.parametrize(("months", "late"), [(11, False), (12, True), (30, True)])
def test_it_marks_a_complaint_more_than_12_months_after_publication_out_of_time(
    api_client, shop, months, late
):
    """R20, 004 §5.8: accepted either way; out of time beyond 12 months."""
    response = complain(api_client, published(shop, months_ago=months))
    assert response.status_code == 201
    assert response.json()["out_of_time"] is late


def test_it_never_marks_a_visitors_report_out_of_time(client, shop):
    review = published(shop, months_ago=20)
    url = reverse("moderation:report-review", args=[shop.slug, review.public_id])
    assert report(client, url, {"reason": "insult"}).status_code == 200
    assert Complaint.objects.for_company(shop.company).get().out_of_time is False


def test_it_answers_another_companys_review_like_a_missing_one(api_client, shop, other_shop):
    """R4: a foreign review id is refused exactly like an unknown one; nothing is stored."""
    foreign = complain(api_client, published(other_shop))
    missing = api_client.post(
        API, {"review": "00000000-0000-4000-8000-000000000000", "reason": "untrue"}, format="json"
    )
    assert foreign.status_code == missing.status_code == 400
    assert foreign.json() == missing.json()
    assert not Complaint.objects.unscoped().exists()


def test_it_hides_another_companys_complaints(api_client, other_api_client, shop, other_shop):
    theirs = complain(other_api_client, published(other_shop)).json()
    assert api_client.get(API).json() == []
    assert api_client.get(f"{API}/{theirs['id']}").status_code == 404


def test_it_refuses_server_owned_fields(api_client, shop):
    """TI-2: status or out_of_time cannot be set by the company."""
    response = complain(api_client, published(shop), status="decided", out_of_time=False)
    assert response.status_code == 400
    assert set(response.json()) == {"status", "out_of_time"}


def test_it_refuses_a_complaint_about_an_unpublished_review(api_client, shop):
    review = factories.ReviewFactory(shop=shop, status=Review.Status.HELD, published_at=None)
    assert complain(api_client, review).status_code == 400


# --- Reports from the certificate page -----------------------------------------------------------


def test_it_takes_a_report_from_anyone_on_the_certificate_page(client, shop):
    review = published(shop, comment="ACME-A review text")
    url = reverse("moderation:report-review", args=[shop.slug, review.public_id])
    form = client.get(url)
    assert form.status_code == 200 and "ACME-A review text" in form.content.decode()
    response = report(
        client,
        url,
        {"reason": "personal_data", "explanation": "my name", "email": "me@example.org"},
    )
    assert response.status_code == 200
    complaint = Complaint.objects.for_company(shop.company).get()
    assert (complaint.source, complaint.reason, complaint.complainant_email) == (
        "public",
        "personal_data",
        "me@example.org",
    )
    assert Review.objects.for_company(shop.company).get(pk=review.pk).status == "published"


def test_it_finds_no_review_of_another_shop_under_this_shops_report_url(client, shop, other_shop):
    review = published(other_shop)
    url = reverse("moderation:report-review", args=[shop.slug, review.public_id])
    assert client.get(url).status_code == 404
    assert report(client, url, {"reason": "insult"}).status_code == 404


def test_it_slows_down_a_flood_of_reports(client, shop):
    review = published(shop)
    url = reverse("moderation:report-review", args=[shop.slug, review.public_id])
    address = fresh_address()
    codes = [
        client.post(url, {"reason": "insult"}, REMOTE_ADDR=address).status_code for _ in range(11)
    ]
    assert codes[:10] == [200] * 10 and codes[10] == 429


# --- Statement, decision, both sides told ---------------------------------------------------------


def test_it_asks_the_evaluator_for_a_statement_through_a_link(
    shop, moderator, client, mailoutbox, django_capture_on_commit_callbacks
):
    review = published(shop, dialogue_email="kim.dialogue@example.net")
    complaint = complaints.complaint_file(review=review, source="company", reason="untrue")
    with django_capture_on_commit_callbacks(execute=True):
        complaints.complaint_request_statement(complaint_id=complaint.pk, actor=moderator)
    (email,) = mailoutbox
    assert email.to == ["kim.dialogue@example.net"]
    url = "/m/statement/" + email.body.split("/m/statement/")[1].split()[0]
    page = client.get(url)
    assert page.status_code == 200
    assert (
        page["Cache-Control"].startswith("max-age=0") and page["Referrer-Policy"] == "no-referrer"
    )
    assert client.post(url, {"statement": "I did buy it, here is why."}).status_code == 200
    complaint = Complaint.objects.for_company(shop.company).get(pk=complaint.pk)
    assert (complaint.status, complaint.statement) == ("open", "I did buy it, here is why.")
    assert client.get(url).status_code == 410  # answered: the link is spent
    assert client.get(url[:-5] + "xxxx/").status_code == 404


def test_it_cannot_ask_an_evaluator_who_left_no_address(shop, moderator):
    complaint = complaints.complaint_file(review=published(shop), source="company", reason="untrue")
    with pytest.raises(services.ModerationError, match="nobody can be asked"):
        complaints.complaint_request_statement(complaint_id=complaint.pk, actor=moderator)


def test_it_records_the_decision_and_tells_both_sides(
    shop, owner, moderator, mailoutbox, django_capture_on_commit_callbacks
):
    """R20: the company (its owners) and the evaluator hear the decision; the log has it."""
    review = published(shop, dialogue_email="kim.dialogue@example.net")
    complaint = complaints.complaint_file(review=review, source="company", reason="untrue")
    with django_capture_on_commit_callbacks(execute=True):
        complaints.complaint_decide(
            complaint_id=complaint.pk,
            actor=moderator,
            outcome=Complaint.Outcome.REJECTED,
            justification="A subjective opinion of a verified buyer.",
        )
    complaint = Complaint.objects.for_company(shop.company).get(pk=complaint.pk)
    assert (complaint.status, complaint.outcome, complaint.decided_by) == (
        "decided",
        "rejected",
        moderator,
    )
    assert sorted(tuple(m.to) for m in mailoutbox) == sorted(
        [(owner.email,), ("kim.dialogue@example.net",)]
    )
    assert all("subjective opinion" in m.body for m in mailoutbox)
    entry = ModerationLogEntry.objects.for_company(shop.company).get(action="complaint_decide")
    assert entry.after["outcome"] == "rejected"
    assert Review.objects.for_company(shop.company).get(pk=review.pk).status == "published"


def test_it_sends_each_decision_email_once(shop, owner, moderator, mailoutbox):
    """STYLE.md 4: a task that runs twice sends nothing the second time."""
    from moderation.emails import complaint_decision_send

    review = published(shop)
    complaint = complaints.complaint_file(review=review, source="company", reason="untrue")
    complaints.complaint_decide(
        complaint_id=complaint.pk, actor=moderator, outcome="rejected", justification="opinion"
    )
    first = complaint_decision_send(complaint_id=complaint.pk)
    second = complaint_decision_send(complaint_id=complaint.pk)
    assert first == {"complainant": "sent", "evaluator": "skipped"}
    assert second == {"complainant": "already", "evaluator": "already"}
    assert len(mailoutbox) == 1
    assert OutboundEmail.objects.for_company(shop.company).filter(status="sent").count() == 1


def test_it_erases_a_visitors_address_once_told(shop, moderator, mailoutbox, client):
    review = published(shop)
    url = reverse("moderation:report-review", args=[shop.slug, review.public_id])
    report(client, url, {"reason": "insult", "email": "visitor@example.org"})
    complaint = Complaint.objects.for_company(shop.company).get()
    complaints.complaint_decide(
        complaint_id=complaint.pk, actor=moderator, outcome="rejected", justification="opinion"
    )
    from moderation.emails import complaint_decision_send

    complaint_decision_send(complaint_id=complaint.pk)
    assert mailoutbox[0].to == ["visitor@example.org"]
    assert Complaint.objects.for_company(shop.company).get().complainant_email == ""


def test_it_upholds_a_complaint_by_deleting_the_review_and_offers_a_replacement(
    shop, moderator, client, mailoutbox, django_capture_on_commit_callbacks
):
    """R19, R21: deletion with a reason; the evaluator gets a link and replaces the review."""
    review = published(shop, rating=1, comment="They are crooks", dialogue_email="kim@example.net")
    complaint = complaints.complaint_file(review=review, source="company", reason="untrue")
    with django_capture_on_commit_callbacks(execute=True):
        complaints.complaint_decide(
            complaint_id=complaint.pk,
            actor=moderator,
            outcome=Complaint.Outcome.DELETED,
            reason="discretion",
            justification="Untrue statement of fact, proven by invoice.",
        )
    assert Review.objects.for_company(shop.company).get(pk=review.pk).status == "deleted"
    offer = ReplacementOffer.objects.for_company(shop.company).get()
    offer_mail = next(m for m in mailoutbox if "/m/replace/" in m.body)
    assert offer_mail.to == ["kim@example.net"]
    url = "/m/replace/" + offer_mail.body.split("/m/replace/")[1].split()[0]
    assert client.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(url, {"rating": "2", "comment": "Late delivery, poor packaging."})
    assert done.status_code == 200
    review = Review.objects.for_company(shop.company).get(pk=review.pk)
    assert (review.status, review.rating, review.comment, review.deleted_at) == (
        "published",
        2,
        "Late delivery, poor packaging.",
        None,
    )
    assert ReplacementOffer.objects.for_company(shop.company).get().used_at is not None
    assert client.get(url).status_code == 410  # used once
    assert tokens.offer_from_token(url.split("/")[3]).pk == offer.pk


def test_it_checks_a_replacement_like_any_review(shop):
    review = published(shop, status=Review.Status.DELETED, dialogue_email="kim@example.net")
    offer = services.replacement_offer(review=review, cause="deleted")
    replaced = services.review_replace(
        offer_id=offer.pk, company_id=shop.company_id, rating=1, comment="Ihr Wichser"
    )
    assert (replaced.status, replaced.comment) == ("published", "Ihr ***")


def test_it_refuses_an_expired_replacement_link(client, shop):
    review = published(shop, status=Review.Status.DELETED, dialogue_email="kim@example.net")
    offer = services.replacement_offer(review=review, cause="deleted")
    ReplacementOffer.objects.for_company(shop.company).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    url = reverse("moderation:replace", args=[tokens.replacement_token(offer)])
    assert client.get(url).status_code == 410
    assert client.post(url, {"rating": "5"}).status_code == 410
