"""The check at submission: the single decision point ``review_decide`` (R17, R18, AB-3).

Reviews are submitted through ``review_submit`` as the rating page does; the star rating never
changes the decision or its timing.
"""

from __future__ import annotations

import io

import pytest
from django.core.files.base import ContentFile
from PIL import Image

from moderation import checks
from moderation.models import ModerationFinding
from reviews import services
from reviews.media import CleanMedia
from reviews.models import Review, ReviewMedia, ReviewVersion
from tests import factories

pytestmark = pytest.mark.django_db


def submit(invitation, text: str, stars: int = 5, **extra) -> Review:
    submission = services.Submission(merchant=services.RatingInput(stars, text), **extra)
    reviews = services.review_submit(invitation_id=invitation.pk, submission=submission)
    return reviews[0]


def findings_of(review: Review):
    return list(
        ModerationFinding.objects.for_company(review.company_id)
        .filter(review=review)
        .values_list("rule", "start", "end", "version", "held")
    )


def test_it_publishes_a_clean_review_at_once(shop):
    review = submit(factories.InvitationFactory(shop=shop), "Fast and friendly.")
    assert review.status == Review.Status.PUBLISHED
    assert review.published_at == review.submitted_at
    assert findings_of(review) == []


def test_it_stars_out_profanity_publishes_and_keeps_the_original_in_history(shop):
    """R18: the public text is starred, the stars stay, the history keeps what was written."""
    text = "Der Fahrer war ein Vollidiot, ruf 0170 1234567 an."
    review = submit(factories.InvitationFactory(shop=shop), text, stars=2)
    review = Review.objects.for_company(shop.company).get(pk=review.pk)
    assert (review.status, review.rating) == (Review.Status.PUBLISHED, 2)
    assert review.comment == "Der Fahrer war ein ***, ruf *** an."
    version = ReviewVersion.objects.for_company(shop.company).get(review=review)
    assert version.comment == text
    spans = {(rule, text[start:end]) for rule, start, end, _v, _h in findings_of(review)}
    assert spans == {("profanity", "Vollidiot"), ("phone", "0170 1234567")}


def test_it_holds_a_threat_and_records_the_rule(shop):
    text = "I will kill you if it is late again."
    review = submit(factories.InvitationFactory(shop=shop), text)
    assert review.status == Review.Status.HELD
    assert review.published_at is None
    assert [(rule, held) for rule, *_, held in findings_of(review)] == [
        (checks.THREAT, True),
        (checks.THREAT, True),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Fast and friendly.",
        "Der Fahrer war ein Vollidiot.",
        "I will kill you if it is late again.",
        "Gutschein gegen eine 5-Sterne-Bewertung",
    ],
)
def test_it_treats_one_star_and_five_stars_the_same(shop, text):
    """R17, 004 §5.2: the same text gets the same decision, text and timing whatever its
    stars; publication is never delayed for a low rating (nor hurried for a high one)."""
    low = submit(factories.InvitationFactory(shop=shop), text, stars=1)
    high = submit(factories.InvitationFactory(shop=shop), text, stars=5)
    assert (low.status, low.comment) == (high.status, high.comment)
    assert (low.published_at is None) == (high.published_at is None)
    if low.published_at is not None:
        assert low.published_at == low.submitted_at and high.published_at == high.submitted_at
    assert [f[:3] for f in findings_of(low)] == [f[:3] for f in findings_of(high)]


def test_it_never_passes_the_stars_to_the_check(shop, monkeypatch):
    """R17: whatever the check is asked, the rating is not part of it."""
    seen = []
    original = checks.check_text
    monkeypatch.setattr(checks, "check_text", lambda text: seen.append(text) or original(text))
    submit(factories.InvitationFactory(shop=shop), "Good.", stars=1)
    assert seen == ["Good."]


def test_it_checks_an_edit_again_and_records_findings_for_that_version(shop):
    """R15, R17: the evaluator's new version is checked like the first."""
    invitation = factories.InvitationFactory(shop=shop)
    review = submit(invitation, "Fine.")
    submission = services.Submission(merchant=services.RatingInput(4, "Ihr Arschloch!"))
    services.review_edit(invitation_id=invitation.pk, submission=submission)
    review = Review.objects.for_company(shop.company).get(pk=review.pk)
    assert (review.comment, review.version, review.status) == ("Ihr ***!", 2, "published")
    assert findings_of(review) == [("profanity", 4, 13, 2, False)]


def _photo() -> CleanMedia:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, format="JPEG")
    return CleanMedia("photo", ContentFile(buffer.getvalue()), "image/jpeg", 8, 8)


def test_it_holds_photos_for_a_moderator_by_default(shop):
    """R17, 004 §5.6: media wait for a moderator even when the review itself is published."""
    review = submit(factories.InvitationFactory(shop=shop), "Nice.", media=(_photo(),))
    assert review.status == Review.Status.PUBLISHED
    media = ReviewMedia.objects.for_company(shop.company).get(review=review)
    assert media.status == ReviewMedia.Status.PENDING


def test_it_publishes_photos_at_once_where_staff_approved_it(shop):
    shop.media_published_without_moderator = True
    shop.save()
    review = submit(factories.InvitationFactory(shop=shop), "Nice.", media=(_photo(),))
    media = ReviewMedia.objects.for_company(shop.company).get(review=review)
    assert media.status == ReviewMedia.Status.PUBLISHED


def test_it_keeps_media_of_a_held_review_pending_even_where_approved(shop):
    shop.media_published_without_moderator = True
    shop.save()
    review = submit(factories.InvitationFactory(shop=shop), "Sieg Heil", media=(_photo(),))
    assert review.status == Review.Status.HELD
    media = ReviewMedia.objects.for_company(shop.company).get(review=review)
    assert media.status == ReviewMedia.Status.PENDING


def test_it_checks_a_visitors_review_when_it_is_confirmed(shop, mailoutbox):
    """R14, R17: reviews without an order pass the same decision point at confirmation."""
    shop.non_transaction_reviews_enabled = True
    shop.save()
    review = services.visitor_review_create(
        shop=shop, rating=1, comment="Total fucking mess", display_name="", email="v@example.org"
    )
    confirmed = services.visitor_review_confirm(token=services.visitor_confirmation_token(review))
    assert (confirmed.status, confirmed.comment) == ("published", "Total *** mess")
    assert findings_of(confirmed)[0][0] == "profanity"


def test_it_keeps_one_companys_findings_in_that_company(shop, other_shop):
    """R4: findings belong to the review's company only."""
    review = submit(factories.InvitationFactory(shop=other_shop), "Du Idiot")
    assert not ModerationFinding.objects.for_company(shop.company).exists()
    assert ModerationFinding.objects.for_company(other_shop.company).get().review == review
