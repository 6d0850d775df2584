"""Customer dialogue (R16, R22, 004 §8.3-8.4): only with an address left for it, private,
checked like every comment, ended by the evaluator at any time; the company never sees the
address. The company writes through ``/api/v1/reviews/{id}/dialogue``."""

from __future__ import annotations

import pytest
from django.urls import reverse

from moderation import dialogue
from reviews.models import DialogueMessage, DialogueThread, Review
from tests import factories

pytestmark = pytest.mark.django_db

ADDRESS = "kim.private@example.net"


@pytest.fixture
def review(shop):
    return factories.ReviewFactory(shop=shop, comment="Parcel was damaged.", dialogue_email=ADDRESS)


def url(review) -> str:
    return f"/api/v1/reviews/{review.public_id}/dialogue"


def write(api_client, review, text: str, capture):
    with capture(execute=True):
        return api_client.post(url(review), {"text": text}, format="json")


def page_link(mail) -> str:
    return "/m/dialogue/" + mail.body.split("/m/dialogue/")[1].split()[0]


def test_it_emails_the_company_message_with_a_private_link(
    api_client, review, mailoutbox, django_capture_on_commit_callbacks
):
    response = write(
        api_client, review, "Sorry! May we send a new one?", django_capture_on_commit_callbacks
    )
    assert response.status_code == 201
    assert (response.json()["sender"], response.json()["status"]) == ("company", "published")
    (mail,) = mailoutbox
    assert mail.to == [ADDRESS]
    assert "Sorry! May we send a new one?" in mail.body and "/m/dialogue/" in mail.body


def test_it_never_shows_the_evaluators_address_to_the_company(
    api_client, client, review, mailoutbox, django_capture_on_commit_callbacks
):
    """R16: not in the API's review, dialogue or message answers; an address the evaluator
    types into an answer is starred out like in any text (R22)."""
    write(api_client, review, "Can we call you?", django_capture_on_commit_callbacks)
    client.post(
        page_link(mailoutbox[0]),
        {"action": "reply", "text": f"Write to {ADDRESS} instead"},
    )
    answers = [
        api_client.get(url(review)),
        api_client.get(f"/api/v1/reviews/{review.public_id}"),
        api_client.get("/api/v1/reviews"),
    ]
    for answer in answers:
        assert answer.status_code == 200
        assert ADDRESS not in answer.content.decode()
    texts = [m["text"] for m in answers[0].json()["messages"]]
    assert texts == ["Can we call you?", "Write to *** instead"]


def test_it_lets_the_evaluator_read_answer_and_end_the_dialogue(
    api_client, client, review, mailoutbox, django_capture_on_commit_callbacks
):
    write(api_client, review, "May we refund you?", django_capture_on_commit_callbacks)
    link = page_link(mailoutbox[0])
    page = client.get(link)
    assert page.status_code == 200
    assert page["Referrer-Policy"] == "no-referrer" and "no-store" in page["Cache-Control"]
    assert "May we refund you?" in page.content.decode()
    assert ADDRESS not in page.content.decode()

    assert client.post(link, {"action": "reply", "text": "Yes please."}).status_code == 200
    assert client.post(link, {"action": "end"}).status_code == 200
    thread = DialogueThread.objects.for_company(review.company_id).get()
    assert (thread.status, thread.ended_by) == ("ended", "evaluator")
    ended = api_client.post(url(review), {"text": "One more thing"}, format="json")
    assert ended.status_code == 409 and ended.json()["code"] == "dialogue_ended"
    assert api_client.get(url(review)).json()["status"] == "ended"
    assert "This conversation has ended." in client.get(link).content.decode()


def test_it_offers_no_dialogue_without_an_address(api_client, shop):
    review = factories.ReviewFactory(shop=shop)
    assert api_client.get(url(review)).json() == {
        "available": False,
        "status": None,
        "messages": [],
    }
    response = api_client.post(url(review), {"text": "Hello"}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "dialogue_unavailable")
    assert not DialogueThread.objects.for_company(shop.company).exists()


def test_it_holds_an_unclear_message_and_sends_nothing(
    api_client, review, mailoutbox, django_capture_on_commit_callbacks
):
    """R22: the same rules as reviews; a held message waits for a moderator."""
    response = write(
        api_client,
        review,
        "Remove the review or we will find you.",
        django_capture_on_commit_callbacks,
    )
    assert response.json()["status"] == "held"
    assert mailoutbox == []
    message = DialogueMessage.objects.for_company(review.company_id).get()
    assert message.status == DialogueMessage.Status.HELD


def test_it_stars_out_profanity_in_the_evaluators_answer(client, review):
    thread = DialogueThread.objects.unscoped().create(
        company=review.company, shop=review.shop, review=review
    )
    link = reverse("moderation:dialogue", args=[dialogue.link_token(thread)])
    client.post(link, {"action": "reply", "text": "Ihr Arschloch habt mich betrogen"})
    message = DialogueMessage.objects.for_company(review.company_id).get()
    assert (message.text, message.status) == ("Ihr *** habt mich betrogen", "published")


def test_it_refuses_a_forged_or_foreign_link(client, review, other_shop):
    thread = DialogueThread.objects.unscoped().create(
        company=review.company, shop=review.shop, review=review
    )
    token = dialogue.link_token(thread)
    assert client.get(reverse("moderation:dialogue", args=[token + "x"])).status_code == 404
    # A token naming the thread under another company finds nothing.
    from django.core import signing

    foreign = signing.dumps({"t": thread.pk, "k": other_shop.company_id}, salt=dialogue.LINK_SALT)
    assert client.get(reverse("moderation:dialogue", args=[foreign])).status_code == 404


@pytest.mark.parametrize("method", ["get", "post"])
def test_it_answers_another_companys_review_like_a_missing_one(api_client, other_shop, method):
    """R4, TI-1: 404 and nothing written."""
    review = factories.ReviewFactory(shop=other_shop, dialogue_email=ADDRESS)
    response = getattr(api_client, method)(url(review), {"text": "hello"}, format="json")
    assert response.status_code == 404
    assert not DialogueThread.objects.unscoped().exists()


def test_it_offers_no_dialogue_on_an_unpublished_review(api_client, shop):
    review = factories.ReviewFactory(
        shop=shop, dialogue_email=ADDRESS, status=Review.Status.UNPUBLISHED
    )
    assert api_client.get(url(review)).status_code == 404
