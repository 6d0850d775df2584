"""The evaluator erases their own data from a link in every email to them (R42, R43, GD-1)."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from invitations.emails import render_email
from invitations.models import Invitation
from moderation import emails as moderation_emails
from moderation import log
from moderation.models import ModerationLogEntry
from privacy.tokens import erasure_target, erasure_token, erasure_url
from reviews.models import Review
from reviews.notifications import review_confirmation_send
from tests import factories

pytestmark = pytest.mark.django_db

EMAIL = "eve-self@example.test"
LINK = re.compile(r"https?://[^\s\"<>]+/privacy/erase/[^\s\"<>/]+/")


@pytest.fixture
def eve(shop):
    invitation = factories.InvitationFactory(
        shop=shop, email=EMAIL, first_name="Evelyn", last_name="Selfmarker", status="rated"
    )
    review = factories.ReviewFactory(
        shop=shop,
        invitation=invitation,
        rating=2,
        comment="Evelyn Selfmarker was unhappy",
        display_name="Evelyn S.",
        dialogue_email=EMAIL,
    )
    return invitation, review


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


@pytest.mark.parametrize("kind", ["invitation", "reminder"])
def test_it_links_every_invitation_email_to_erasure(eve, kind):
    """GD-1: invitation and reminder (text and HTML) carry the signed erasure link."""
    rendered = render_email(eve[0], kind=kind)
    assert LINK.search(rendered.text) and LINK.search(rendered.html)


@pytest.mark.parametrize(
    "template",
    [
        "moderation/statement_request",
        "moderation/decision_evaluator",
        "moderation/replacement_offer",
        "dialogue/message",
    ],
)
def test_it_links_every_moderation_and_dialogue_email_to_erasure(shop, eve, template):
    """GD-1: every email the moderation and the dialogue send to the evaluator has the link."""
    message = moderation_emails._render(
        template, {"shop": shop}, to=[EMAIL], language="en", review=eve[1]
    )
    found = LINK.search(message.body)
    assert found
    target = erasure_target(found.group(0).rstrip("/").rsplit("/", 1)[1])
    assert (target.company_id, target.review_id) == (eve[1].company_id, eve[1].pk)


def test_it_links_the_review_confirmation_email_to_erasure(shop):
    """GD-1: the visitor's confirmation email has the link, text and HTML."""
    review = factories.ReviewFactory(
        shop=shop,
        invitation=None,
        is_transaction_based=False,
        kind=Review.Kind.MERCHANT,
        status=Review.Status.PENDING,
        author_email="visitor-self@example.test",
        published_at=None,
    )
    assert review_confirmation_send(review_id=review.pk)
    message = mail.outbox[-1]
    assert LINK.search(message.body) and LINK.search(message.alternatives[0][0])


def test_it_erases_after_the_evaluators_choice_and_confirmation(client, eve):
    """GD-1: GET asks; POST without confirmation changes nothing; with it, the invitation
    loses its personal data, the review is deleted as chosen, the log names public ids only."""
    invitation, review = eve
    path = _path(erasure_url(invitation=invitation))
    page = client.get(path)
    assert page.status_code == 200 and "sessionid" not in page.cookies

    refused = client.post(path, {"mode": "delete"})
    assert refused.status_code == 400
    assert Invitation.objects.unscoped().get(pk=invitation.pk).email == EMAIL

    done = client.post(path, {"mode": "delete", "confirm": "on"})
    assert done.status_code == 200
    invitation = Invitation.objects.unscoped().get(pk=invitation.pk)
    assert (invitation.email, invitation.first_name, invitation.last_name) == ("", "", "")
    review = Review.objects.unscoped().get(pk=review.pk)
    assert (review.status, review.comment, review.display_name) == ("deleted", "", "")
    entries = ModerationLogEntry.objects.unscoped().filter(company=review.company_id)
    assert entries.exists()
    dumped = str(list(entries.values("before", "after", "justification", "actor_label")))
    assert "Selfmarker" not in dumped and EMAIL not in dumped
    assert log.log_verify().ok


def test_it_anonymises_a_visitor_review_keeping_the_stars(client, shop):
    """GD-1: a link naming only a review (visitor review) anonymises that review."""
    review = factories.ReviewFactory(
        shop=shop,
        invitation=None,
        is_transaction_based=False,
        comment="Visitor Vmarker text",
        display_name="Vmarker",
        status=Review.Status.PUBLISHED,
    )
    path = _path(erasure_url(review=review))
    assert client.post(path, {"mode": "anonymise", "confirm": "on"}).status_code == 200
    review.refresh_from_db()
    assert (review.status, review.rating, review.comment, review.display_name) == (
        "published",
        review.rating,
        "",
        "",
    )


def test_it_refuses_a_forged_or_foreign_link(client, eve, other_shop):
    """GD-1: a tampered token is 404; a genuine token of B names nothing of A."""
    invitation, review = eve
    token = erasure_token(company_id=invitation.company_id, invitation_id=invitation.pk)
    assert client.get(f"/privacy/erase/{token[:-2]}xx/").status_code == 404
    foreign = erasure_token(company_id=other_shop.company_id, invitation_id=invitation.pk)
    response = client.post(f"/privacy/erase/{foreign}/", {"mode": "delete", "confirm": "on"})
    assert response.status_code == 410
    assert Invitation.objects.unscoped().get(pk=invitation.pk).email == EMAIL


def test_it_logs_digests_instead_of_review_text(shop, eve):
    """R42, R43: new log snapshots keep a keyed SHA-256 of text, names and addresses; the
    chain still verifies."""
    review = eve[1]
    entry = log.log_append(
        company_id=review.company_id,
        shop_id=review.shop_id,
        action=ModerationLogEntry.Action.PUBLISH,
        target_type="review",
        target_id=review.pk,
        before={"status": "held", "comment": review.comment, "dialogue_email": EMAIL},
        after={"status": "published", "comment": "", "display_name": "Evelyn S."},
    )
    entry.refresh_from_db()
    assert entry.before["status"] == "held"
    assert entry.before["comment"] == log.text_digest(review.comment)
    assert entry.before["comment"].startswith("sha256:") and len(entry.before["comment"]) == 71
    assert entry.before["dialogue_email"] == log.text_digest(EMAIL)
    assert entry.after["comment"] == ""
    assert "Evelyn" not in str(entry.before) + str(entry.after)
    assert log.log_verify().ok


def test_it_names_a_company_user_in_the_log_by_id_only(shop, eve, owner):
    """R43: a company user acting is logged as "user <id>", never by address."""
    entry = log.log_append(
        company_id=shop.company_id,
        action=ModerationLogEntry.Action.PUBLISH,
        target_type="review",
        target_id=eve[1].pk,
        actor=owner,
    )
    assert entry.actor_label == f"user {owner.pk}" and owner.email not in entry.actor_label


def test_it_builds_the_erasure_path_as_the_url_resolver_does(eve):
    """GD-1 (issue 12): the erasure link's path is reversed once and reused for every email of a
    batch; for every kind of token, and under a script prefix, it is exactly what ``reverse``
    gives, and it resolves to the erasure page."""
    from django.urls import clear_script_prefix, resolve, reverse, set_script_prefix

    from privacy.tokens import erase_path

    invitation, review = eve
    tokens = [
        erasure_token(company_id=invitation.company_id, invitation_id=invitation.pk),
        erasure_token(
            company_id=review.company_id, invitation_id=invitation.pk, review_id=review.pk
        ),
        erasure_token(company_id=2**40, review_id=2**40 + 1),
    ]
    try:
        for prefix in ("/", "/reviews/"):
            set_script_prefix(prefix)
            for token in tokens:
                assert erase_path(token) == reverse("privacy:erase", args=[token])
                assert erase_path(token).startswith(f"{prefix}privacy/erase/")
    finally:
        clear_script_prefix()
    assert resolve(erase_path(tokens[0])).url_name == "erase"
    assert erasure_url(invitation=invitation).endswith(erase_path(tokens[0]))
