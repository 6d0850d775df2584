"""Company comments under reviews on the certificate page (R22, R27)."""

from __future__ import annotations

import pytest

from reviews.models import CompanyComment
from reviews.services_comments import company_comment_set
from tests import factories

pytestmark = pytest.mark.django_db


def test_it_shows_a_published_company_comment_under_its_review(client, shop, other_shop):
    review = factories.ReviewFactory(shop=shop, comment="Parcel was late.")
    company_comment_set(review=review, text="Sorry, our carrier had a strike that week.")
    theirs = factories.ReviewFactory(shop=other_shop, comment="BETA-B review")
    company_comment_set(review=theirs, text="BETA-B reply")
    page = client.get(f"/c/{shop.slug}/").content.decode()
    assert "Sorry, our carrier had a strike that week." in page
    assert "Reply from ACME-A Shop" in page
    assert "BETA-B reply" not in page


def test_it_hides_a_comment_held_for_a_moderator(client, shop):
    review = factories.ReviewFactory(shop=shop)
    comment = company_comment_set(review=review, text="A reply under review.")
    CompanyComment.objects.for_company(shop.company).filter(pk=comment.pk).update(status="held")
    page = client.get(f"/c/{shop.slug}/").content.decode()
    assert "A reply under review." not in page
