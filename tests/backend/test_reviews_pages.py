"""The backend's review pages: list, filters, full-text search, CSV export, detail with the
company comment, customer dialogue and complaints (R2, R15, R16, R20, R22, TI-1, IN-5)."""

from __future__ import annotations

import csv
import datetime
import io
import re

import pytest
from django.contrib.postgres.search import SearchQuery
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from companies.models import Role
from moderation.models import Complaint
from reviews.models import CompanyComment, DialogueMessage, DialogueThread, Review, ReviewVersion
from reviews.selectors import SEARCH_CONFIG, review_search_vector
from tests import factories
from tests.moderation import factories as moderation_factories

pytestmark = pytest.mark.django_db

LIST = "/backend/reviews/"
EXPORT = "/backend/reviews/export.csv"


def _login(client, company, role=Role.MANAGER):
    user = factories.MembershipFactory(company=company, role=role).user
    client.force_login(user)
    return user


def _detail(review) -> str:
    return f"/backend/reviews/{review.pk}/"


def _days_ago(days: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=days)


# --- List, filters, search -----------------------------------------------------------------


def test_it_lists_only_the_chosen_shops_reviews_and_follows_the_shop_switcher(
    client, company, shop, other_shop
):
    """TI-1, R2: the list shows the shop chosen in the header; another shop of the same company
    and another company's shop stay out, also by id on the detail page."""
    second = factories.ShopFactory(company=company, name="ZED second shop", slug="zed-second")
    factories.ReviewFactory(shop=shop, comment="first shop review text")
    theirs = factories.ReviewFactory(shop=second, comment="second shop review text")
    factories.ReviewFactory(shop=other_shop, comment="BETA-B review text")
    _login(client, company, Role.VIEWER)

    page = client.get(LIST).content.decode()
    assert "first shop review text" in page
    assert "second shop review text" not in page and "BETA-B" not in page
    assert client.get(_detail(theirs)).status_code == 404

    client.post("/backend/switch-shop/", {"shop_id": second.pk, "next": LIST})
    page = client.get(LIST).content.decode()
    assert "second shop review text" in page and "first shop review text" not in page
    assert client.get(_detail(theirs)).status_code == 200


def test_it_filters_by_stars_status_product_dates_and_comment_and_keeps_the_values(
    client, company, shop
):
    """R2: each filter narrows the list and the form shows what was chosen."""
    product = factories.ProductFactory(shop=shop, name="Blue kettle")
    factories.ReviewFactory(shop=shop, rating=1, comment="one star text")
    factories.ReviewFactory(shop=shop, rating=2, comment="two star text")
    old_instant = _days_ago(40)
    factories.ReviewFactory(shop=shop, rating=5, comment="", submitted_at=old_instant)
    factories.ReviewFactory(
        shop=shop, rating=4, comment="kettle text", kind=Review.Kind.PRODUCT, product=product
    )
    factories.ReviewFactory(
        shop=shop, rating=3, comment="held text", status=Review.Status.HELD, published_at=None
    )
    _login(client, company, Role.VIEWER)

    def shown(query: dict) -> set[str]:
        page = client.get(LIST, query).content.decode()
        texts = {"one star text", "two star text", "kettle text", "held text", "No comment."}
        return {text for text in texts if text in page}

    assert shown({"stars": ["1", "2"]}) == {"one star text", "two star text"}
    assert shown({"status": "held"}) == {"held text"}
    assert shown({"product": product.pk}) == {"kettle text"}
    assert shown({"with_comment": "on"}) == {
        "one star text",
        "two star text",
        "kettle text",
        "held text",
    }
    # The filter reads days in the platform's time zone; 40 days back may be across a DST change.
    old = timezone.localdate(old_instant).isoformat()
    assert shown({"date_from": old, "date_to": old}) == {"No comment."}

    page = client.get(
        LIST, {"stars": ["1", "2"], "date_from": old, "q": "kettle", "with_comment": "on"}
    ).content.decode()
    checked = re.findall(
        r'<input type="checkbox" name="(\w+)" (?:value="(\w+)" )?[^>]*checked', page
    )
    assert sorted(checked) == [("stars", "1"), ("stars", "2"), ("with_comment", "")]
    assert f'value="{old}"' in page and 'value="kettle"' in page


def test_it_searches_the_review_texts_with_postgres_full_text_search_and_its_index(
    client, company, shop
):
    """R2: the text search is Postgres full-text ('simple'), any word order, any language, and
    the GIN index of the migration serves exactly this expression."""
    factories.ReviewFactory(shop=shop, comment="Die Lieferung war schnell und gut verpackt.")
    factories.ReviewFactory(shop=shop, comment="Delivery was slow, packaging torn.")
    factories.ReviewFactory(shop=shop, comment="Schnelle Antwort vom Kundendienst.")
    _login(client, company, Role.VIEWER)

    page = client.get(LIST, {"q": "SCHNELL lieferung"}).content.decode()
    assert "Die Lieferung war schnell" in page
    assert "Delivery was slow" not in page and "Schnelle Antwort" not in page
    page = client.get(LIST, {"q": "delivery -torn"}).content.decode()
    assert "No reviews match these filters." in page
    page = client.get(LIST, {"q": '"packaging torn"'}).content.decode()
    assert "Delivery was slow" in page

    # The same search expression as the list's, alone: Postgres must be able to use the index.
    query = SearchQuery("schnell", config=SEARCH_CONFIG, search_type="websearch")
    reviews = Review.objects.unscoped().annotate(search=review_search_vector()).filter(search=query)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = reviews.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)  # noqa: S608 (the ORM's own SQL)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "review_comment_fts" in plan


@pytest.mark.parametrize(
    "query, message",
    [
        ({"stars": "9"}, "Select a valid choice."),
        ({"status": "lost"}, "Select a valid choice."),
        ({"product": "abc"}, "Select a valid choice."),
        ({"date_from": "31.02.2026"}, "Enter a valid date."),
        ({"date_from": "2026-03-01", "date_to": "2026-02-01"}, "must not be before"),
        ({"q": "bad\x00text"}, "Null characters are not allowed."),
        ({"q": "x" * 201}, "at most 200 characters"),
    ],
)
def test_it_answers_invalid_filters_with_a_form_error_not_a_500(
    client, company, shop, query, message
):
    """R2: invalid filter values are shown next to the field; the list is not shown."""
    factories.ReviewFactory(shop=shop, comment="visible text")
    _login(client, company, Role.VIEWER)

    response = client.get(LIST, query)

    assert response.status_code == 400
    page = response.content.decode()
    assert message in page and 'class="error"' in page and "visible text" not in page


def test_it_refuses_another_shops_product_as_a_filter(client, company, shop, other_shop):
    """TI-1: a product id of another company is an invalid choice, not a filter."""
    theirs = factories.ProductFactory(shop=other_shop)
    _login(client, company, Role.VIEWER)
    response = client.get(LIST, {"product": theirs.pk})
    assert response.status_code == 400 and "Select a valid choice." in response.content.decode()


def _fill(shop, count: int) -> None:
    product = factories.ProductFactory(shop=shop)
    for number in range(count):
        review = factories.ReviewFactory(
            shop=shop,
            kind=Review.Kind.PRODUCT if number % 2 else Review.Kind.MERCHANT,
            product=product if number % 2 else None,
        )
        if number % 3 == 0:
            moderation_factories.CompanyCommentFactory(shop=shop, review=review)


def test_it_lists_a_page_with_a_fixed_number_of_queries(client, company, shop):
    """STYLE.md 10: the same queries for 3 and for 30 reviews on a page: session, user,
    membership, shops, companies (header), products (filter), count, the page's rows."""
    _login(client, company, Role.VIEWER)
    _fill(shop, 3)
    client.get(LIST)  # the first request after login also stamps the session
    with CaptureQueriesContext(connection) as small:
        assert client.get(LIST, {"with_comment": "on"}).status_code == 200
    _fill(shop, 27)
    with CaptureQueriesContext(connection) as large:
        response = client.get(LIST, {"with_comment": "on"})
    assert response.status_code == 200
    assert response.content.decode().count('class="panel rv-item"') == 25
    assert len(large) == len(small)


def test_it_pages_through_the_list_and_keeps_the_filters_in_the_links(client, company, shop):
    """R2: 25 reviews a page; the page links carry the filters."""
    for number in range(27):
        factories.ReviewFactory(shop=shop, rating=4, comment=f"number {number:02d} here")
    factories.ReviewFactory(shop=shop, rating=1, comment="filtered out")
    _login(client, company, Role.VIEWER)

    first = client.get(LIST, {"stars": "4"}).content.decode()
    assert "27 reviews" in first and "Page 1 of 2" in first
    assert "?stars=4&amp;page=2" in first
    second = client.get(LIST, {"stars": "4", "page": "2"}).content.decode()
    assert second.count('class="panel rv-item"') == 2 and "filtered out" not in second
    assert client.get(LIST, {"page": "nonsense"}).status_code == 200


# --- CSV export ----------------------------------------------------------------------------


def _csv(response) -> list[list[str]]:
    raw = b"".join(response.streaming_content)
    assert raw.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def test_it_exports_the_filtered_list_as_a_streamed_excel_safe_csv(
    client, company, shop, other_shop
):
    """IN-5, R2: UTF-8 with BOM, RFC 4180 quoting, formula triggers neutralized; the viewer
    may export (viewers read every review); only the chosen shop and the filtered rows."""
    risky = [
        '=HYPERLINK("http://x","y")',
        "+cmd|' /C calc'!A0",
        "-1+2",
        "@SUM(A1)",
        "\tindented",
        "\rreturn",
    ]
    for text in risky:
        factories.ReviewFactory(shop=shop, rating=2, comment=text)
    factories.ReviewFactory(shop=shop, rating=2, comment='Größe "XL", line\nbreak ✓')
    factories.ReviewFactory(shop=shop, rating=5, comment="five stars")
    factories.ReviewFactory(shop=other_shop, rating=2, comment="BETA-B secret")
    _login(client, company, Role.VIEWER)

    response = client.get(EXPORT, {"stars": "2"})

    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'attachment; filename="reviews-acme-a-shop-' in response["Content-Disposition"]
    rows = _csv(response)
    header, body = rows[0], rows[1:]
    assert header[0] == "Review id" and "Comment" in header
    comments = {row[header.index("Comment")] for row in body}
    assert comments == {"'" + text for text in risky} | {'Größe "XL", line\nbreak ✓'}
    assert all(row[header.index("Stars")] == "2" for row in body)


def test_it_sends_an_invalid_export_back_to_the_list_with_the_error(client, company, shop):
    """R2: a bad filter never produces a file; the list shows the error."""
    _login(client, company, Role.VIEWER)
    response = client.get(EXPORT, {"stars": "0"})
    assert response.status_code == 302 and response["Location"] == f"{LIST}?stars=0"
    page = client.get(response["Location"]).content.decode()
    assert "Please correct the filters before exporting." in page
    assert "Select a valid choice." in page


# --- Detail --------------------------------------------------------------------------------


@pytest.fixture
def review(shop):
    product = factories.ProductFactory(shop=shop, name="Red teapot", product_id="TEA-1")
    review = factories.ReviewFactory(
        shop=shop,
        kind=Review.Kind.PRODUCT,
        product=product,
        rating=2,
        comment="The lid broke, call me at ***.",
        display_name="Kim",
        dialogue_email="kim.private@example.net",
        version=2,
    )
    ReviewVersion.objects.for_company(shop.company_id).create(
        company=shop.company,
        shop=shop,
        review=review,
        version=1,
        rating=1,
        comment="The lid broke, call me at kim.first@example.net now",
    )
    ReviewVersion.objects.for_company(shop.company_id).create(
        company=shop.company, shop=shop, review=review, version=2, rating=2, comment=review.comment
    )
    return review


def test_it_shows_the_review_with_history_product_media_and_never_the_address(
    client, company, shop, review
):
    """R15, R16, R18: the detail shows versions (texts checked), product and media; no
    evaluator address, no personal data a check starred out of an earlier version."""
    factories.ReviewMediaFactory(shop=shop, review=review)
    _login(client, company, Role.VIEWER)

    page = client.get(_detail(review)).content.decode()

    assert "Red teapot" in page and "TEA-1" in page and "Kim" in page
    assert "Version 1" in page and "Version 2" in page and "The lid broke" in page
    assert "kim.first@example.net" not in page and "kim.private@example.net" not in page
    assert "photo" in page and "awaiting check" in page


def test_it_hides_a_version_text_a_moderator_replaced(client, company, shop, review, owner):
    """R18: the text before a moderator's starring is not shown again to the company."""
    ReviewVersion.objects.for_company(company).filter(review=review, version=2).update(
        edited_by=owner
    )
    _login(client, company, Role.VIEWER)
    page = client.get(_detail(review)).content.decode()
    assert "This text is not shown: it was removed." in page
    assert "changed by a moderator" in page


def test_it_lets_a_manager_write_edit_and_delete_the_public_comment(client, company, shop, review):
    """R22: the comment is checked like any comment (personal data starred), every action is
    confirmed with a message, errors stand next to the field."""
    user = _login(client, company, Role.MANAGER)
    url = f"{_detail(review)}comment/"

    empty = client.post(url, {"text": "   "})
    assert empty.status_code == 400
    assert 'id="comment_text-error">This field is required.' in empty.content.decode()

    response = client.post(url, {"text": "Sorry! Write to service@acme.example please."})
    assert response.status_code == 302 and response["Location"].endswith("#comment")
    comment = CompanyComment.objects.for_company(company).get(review=review)
    assert comment.edited_by == user and "service@acme.example" not in comment.text
    assert comment.status == CompanyComment.Status.PUBLISHED
    page = client.get(_detail(review)).content.decode()
    assert "Your comment is published under the review." in page and "***" in page

    client.post(url, {"text": "Sorry, a new lid is on its way."})
    comment.refresh_from_db()
    assert comment.version == 2 and comment.text == "Sorry, a new lid is on its way."

    unconfirmed = client.post(f"{url}delete/", {})
    assert unconfirmed.status_code == 302
    assert CompanyComment.objects.for_company(company).filter(review=review).exists()
    client.post(f"{url}delete/", {"confirm": "yes"})
    assert not CompanyComment.objects.for_company(company).filter(review=review).exists()
    assert "Your comment was deleted." in client.get(_detail(review)).content.decode()


def test_it_refuses_a_comment_under_a_review_that_is_not_published(client, company, shop):
    """R22: only a published review takes a comment; the form error says why."""
    held = moderation_factories.HeldReviewFactory(shop=shop)
    _login(client, company, Role.MANAGER)
    page = client.get(_detail(held)).content.decode()
    assert "Only a published review can be commented on." in page and "Publish comment" not in page
    response = client.post(f"{_detail(held)}comment/", {"text": "Thanks"})
    assert response.status_code == 400
    assert "Only a published review can be commented on." in response.content.decode()
    assert not CompanyComment.objects.for_company(company).exists()


def test_it_shows_the_comment_on_the_certificate_page_at_once(
    client, company, shop, django_capture_on_commit_callbacks
):
    """R22, TI-5: the certificate page was cached before; the comment written in the backend
    retires the cache (review_changed after commit) and shows there at once."""
    public = factories.ReviewFactory(shop=shop, comment="Great service")
    before = client.get(f"/c/{shop.slug}/").content.decode()
    assert "Great service" in before
    _login(client, company, Role.MANAGER)
    with django_capture_on_commit_callbacks(execute=False) as after_commit:
        client.post(f"{_detail(public)}comment/", {"text": "Thank you, come again!"})
    client.logout()
    stale = client.get(f"/c/{shop.slug}/").content.decode()
    assert "Thank you, come again!" not in stale  # the cached copy, until the commit hooks run

    for callback in after_commit:
        callback()

    after = client.get(f"/c/{shop.slug}/").content.decode()
    assert "Thank you, come again!" in after


def test_it_lets_a_manager_write_to_the_evaluator_and_read_the_thread(
    client, company, shop, review
):
    """R16, R22: messages of both sides are listed; the company's own held message shows as
    held, the evaluator's held one not; a new message opens the dialogue."""
    user = _login(client, company, Role.MANAGER)
    response = client.post(f"{_detail(review)}dialogue/", {"text": "Which lid size do you need?"})
    assert response.status_code == 302 and response["Location"].endswith("#dialogue")
    thread = DialogueThread.objects.for_company(company).get(review=review)
    sent = DialogueMessage.objects.for_company(company).get(thread=thread)
    assert sent.author == user and sent.status == DialogueMessage.Status.PUBLISHED
    moderation_factories.DialogueMessageFactory(
        shop=shop, thread=thread, sender=DialogueMessage.Sender.EVALUATOR, text="Size 12 please"
    )
    moderation_factories.DialogueMessageFactory(
        shop=shop,
        thread=thread,
        sender=DialogueMessage.Sender.EVALUATOR,
        text="held evaluator text",
        status=DialogueMessage.Status.HELD,
    )

    page = client.get(_detail(review)).content.decode()
    assert "Your message was sent to the evaluator." in page
    assert "Which lid size do you need?" in page and "Size 12 please" in page
    assert "held evaluator text" not in page and "kim.private@example.net" not in page


def test_it_shows_no_dialogue_form_without_an_address_or_after_the_end(
    client, company, shop, review
):
    """R16, R22: no address, no dialogue; an ended dialogue takes no more messages."""
    silent = factories.ReviewFactory(shop=shop, dialogue_email="")
    _login(client, company, Role.MANAGER)
    assert "Send message" not in client.get(_detail(silent)).content.decode()
    refused = client.post(f"{_detail(silent)}dialogue/", {"text": "Hello?"})
    assert refused.status_code == 400
    assert "did not leave an address" in refused.content.decode()

    moderation_factories.DialogueThreadFactory(
        shop=shop, review=review, status=DialogueThread.Status.ENDED, ended_by="evaluator"
    )
    page = client.get(_detail(review)).content.decode()
    assert "This dialogue was ended by the evaluator." in page and "Send message" not in page
    ended = client.post(f"{_detail(review)}dialogue/", {"text": "One more thing"})
    assert ended.status_code == 400 and "ended this dialogue" in ended.content.decode()
    assert not DialogueMessage.objects.for_company(company).exists()


def test_it_files_a_complaint_and_shows_its_status_and_decision(client, company, shop, review):
    """R20: the complaint is recorded for the company, the review stays published, the status
    and a later decision are shown."""
    user = _login(client, company, Role.MANAGER)
    missing = client.post(f"{_detail(review)}complaints/", {"reason": "", "explanation": ""})
    assert missing.status_code == 400
    assert 'id="complaint_reason-error">This field is required.' in missing.content.decode()

    response = client.post(
        f"{_detail(review)}complaints/",
        {"reason": Complaint.ReasonCode.UNTRUE, "explanation": "We never sold a lid."},
    )
    assert response.status_code == 302
    complaint = Complaint.objects.for_company(company).get(review=review)
    assert complaint.source == Complaint.Source.COMPANY and complaint.filed_by == user
    assert not complaint.out_of_time
    review.refresh_from_db()
    assert review.status == Review.Status.PUBLISHED
    page = client.get(_detail(review)).content.decode()
    assert "Your complaint was filed." in page and "untrue statement of fact" in page
    assert "We never sold a lid." in page and ">open<" in page

    Complaint.objects.for_company(company).filter(pk=complaint.pk).update(
        status=Complaint.Status.DECIDED,
        outcome=Complaint.Outcome.REJECTED,
        decision_note="The statement is an opinion.",
        decided_at=timezone.now(),
    )
    page = client.get(_detail(review)).content.decode()
    assert "rejected: the review stays" in page and "The statement is an opinion." in page


def test_it_marks_a_late_complaint_out_of_time(client, company, shop):
    """R20: more than 12 months after publication: accepted, marked out of time."""
    old = factories.ReviewFactory(shop=shop, submitted_at=_days_ago(400))
    _login(client, company, Role.MANAGER)
    client.post(f"{_detail(old)}complaints/", {"reason": "insult", "explanation": "Rude."})
    complaint = Complaint.objects.for_company(company).get(review=old)
    assert complaint.out_of_time
    page = client.get(_detail(old)).content.decode()
    assert "marked out of time" in page and "out of time (more than 12 months" in page


def test_it_shows_a_viewer_everything_but_no_forms_and_refuses_their_posts(
    client, company, shop, review
):
    """R2: a viewer reads the comment, the thread and complaints; every write is a 403 and
    changes nothing."""
    moderation_factories.CompanyCommentFactory(shop=shop, review=review, text="Our reply")
    thread = moderation_factories.DialogueThreadFactory(shop=shop, review=review)
    moderation_factories.DialogueMessageFactory(shop=shop, thread=thread, text="Our question")
    moderation_factories.ComplaintFactory(shop=shop, review=review)
    _login(client, company, Role.VIEWER)

    page = client.get(_detail(review)).content.decode()
    assert "Our reply" in page and "Our question" in page and "untrue statement" in page
    assert "<form" not in page.split('id="content"', 1)[1]

    for path, data in [
        ("comment/", {"text": "Viewer reply"}),
        ("comment/delete/", {"confirm": "yes"}),
        ("dialogue/", {"text": "Viewer message"}),
        ("complaints/", {"reason": "other", "explanation": "Viewer complaint"}),
    ]:
        assert client.post(f"{_detail(review)}{path}", data).status_code == 403
    assert CompanyComment.objects.for_company(company).get(review=review).text == "Our reply"
    assert DialogueMessage.objects.for_company(company).count() == 1
    assert Complaint.objects.for_company(company).count() == 1
