"""The rating page: link, form, submit, edit, delete (R9, R12-R16, AU-2..AU-4, AB-1, AB-2)."""

from __future__ import annotations

import datetime
import io
import time
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from companies.models import Shop
from invitations import tokens
from invitations.models import Invitation, OrderItem
from reviews.models import Review, ReviewMedia, ReviewVersion
from tests import factories
from tests.conftest import fresh_address

pytestmark = pytest.mark.django_db

RATE = "/r/"


@pytest.fixture
def invitation(shop):
    invitation = factories.InvitationFactory(shop=shop, status="sent")
    factories.OrderItemFactory(shop=shop, order=invitation.order, product__name="Trail Runner")
    return invitation


@pytest.fixture
def other_invitation(other_shop):
    return factories.InvitationFactory(shop=other_shop, status="sent")


def link(invitation) -> str:
    return f"/r/{tokens.token_for(invitation.token_nonce)}/"


def open_session(client, invitation):
    response = client.get(link(invitation))
    assert response.status_code == 303, response.content
    return response


def reviews_of(invitation):
    return Review.objects.for_company(invitation.company_id).filter(invitation=invitation)


def product_of(invitation):
    return OrderItem.objects.for_company(invitation.company_id).get(order=invitation.order).product


@pytest.fixture(autouse=True)
def _screening_inline(eager_tasks):
    """The screening the POST queues (R17) runs in this process, as a worker would run it."""


def submit(client, invitation, **extra):
    """The form POST, then what it queued after commit (the screening, the recompute)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return _post_form(client, invitation, **extra)


def _post_form(client, invitation, **extra):
    product = product_of(invitation)
    data = {
        "merchant_rating": "4",
        "merchant_comment": "Quick and friendly.",
        f"product_{product.pk}_rating": "5",
        f"product_{product.pk}_comment": "Great shoes.",
    }
    data.update(extra)
    return client.post(RATE, data)


def test_it_swaps_the_token_for_a_session_and_leaves_no_trace_of_it(client, invitation):
    """AU-4: 303 to a URL without the token; no-store and no-referrer; a new session id."""
    client.get("/healthz")
    response = open_session(client, invitation)
    token = tokens.token_for(invitation.token_nonce)
    assert response["Location"] == RATE
    assert token not in response["Location"]
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]
    page = client.get(RATE)
    assert page.status_code == 200
    assert token not in page.content.decode()
    # The page holds no secret; same-origin keeps Origin on the form POST for the CSRF check.
    assert page["Referrer-Policy"] == "same-origin"
    assert "no-store" in page["Cache-Control"]


def test_it_answers_unknown_and_malformed_links_alike_without_naming_anyone(client, invitation):
    """AB-2: the same neutral 404 for a well-formed and a malformed token."""
    well_formed = client.get("/r/" + "A" * 43 + "/", REMOTE_ADDR=fresh_address())
    malformed = client.get("/r/not-a-token/", REMOTE_ADDR=fresh_address())
    assert well_formed.status_code == malformed.status_code == 404
    assert well_formed.content == malformed.content
    assert invitation.shop.name.encode() not in well_formed.content


def test_it_slows_down_a_guessing_client(client, invitation):
    """AB-2: after 30 misses a minute from one address, 429."""
    address = fresh_address()
    statuses = [client.get(f"/r/{n:043d}/", REMOTE_ADDR=address).status_code for n in range(31)]
    assert statuses[:30] == [404] * 30
    assert statuses[30] == 429


def test_it_disables_the_link_six_months_after_creation(client, shop):
    """R9, AU-2: valid until the boundary, then a neutral 410 with no name, email or order."""
    created = timezone.now() - datetime.timedelta(days=200)
    invitation = factories.InvitationFactory(shop=shop, created_at=created, status="sent")
    assert invitation.expires_at < timezone.now()
    response = client.get(link(invitation))
    assert response.status_code == 410
    body = response.content.decode()
    for secret in (shop.name, invitation.email, invitation.first_name, invitation.order.order_id):
        assert secret not in body
    Invitation.objects.unscoped().filter(pk=invitation.pk).update(
        expires_at=timezone.now() + datetime.timedelta(minutes=1)
    )
    assert client.get(link(invitation)).status_code == 303


def test_it_shows_the_shop_and_the_five_labelled_stars(client, invitation):
    """R12: 5 very good ... 1 inadequate, as real radio inputs with labels."""
    open_session(client, invitation)
    page = client.get(RATE).content.decode()
    assert invitation.shop.name in page
    for label in (
        "5 – very good",
        "4 – good",
        "3 – satisfactory",
        "2 – unsatisfactory",
        "1 – inadequate",
    ):
        assert label in page
    assert page.count('type="radio" name="merchant_rating"') == 5
    assert "Trail Runner" in page


def test_it_publishes_one_merchant_and_one_product_review(client, invitation):
    """R13: one merchant review and one per product; the link is marked as used."""
    open_session(client, invitation)
    response = submit(client, invitation)
    assert response.status_code == 303 and response["Location"] == reverse("reviews:thanks")
    rows = {r.kind: r for r in reviews_of(invitation)}
    assert (rows["merchant"].rating, rows["merchant"].status) == (4, "published")
    assert (rows["product"].rating, rows["product"].comment) == (5, "Great shoes.")
    assert all(
        r.is_transaction_based and r.company_id == invitation.company_id for r in rows.values()
    )
    assert ReviewVersion.objects.for_company(invitation.company_id).count() == 2
    refreshed = Invitation.objects.unscoped().get(pk=invitation.pk)
    assert refreshed.status == "rated" and refreshed.used_at is not None
    assert client.get(reverse("reviews:thanks")).status_code == 200


def test_it_never_makes_a_second_review_for_one_invitation(client, invitation):
    """AU-3 (sequential): a later POST edits the one review; a second submit is refused."""
    open_session(client, invitation)
    submit(client, invitation)
    assert client.post(RATE, {"merchant_rating": "1"}).status_code == 303  # an edit (R15)
    from reviews import services

    with pytest.raises(services.AlreadySubmitted):
        services.review_submit(
            invitation_id=invitation.pk,
            submission=services.Submission(merchant=services.RatingInput(2)),
        )
    assert reviews_of(invitation).filter(kind="merchant").count() == 1


def test_it_lets_the_evaluator_change_the_review_and_keeps_the_history(client, invitation):
    """R15, AB-1: the new version replaces the old one publicly; all versions are kept."""
    open_session(client, invitation)
    submit(client, invitation)
    client.get(link(invitation))  # a later visit from the email link
    page = client.get(RATE).content.decode()
    assert "Change your rating" in page and "Quick and friendly." in page
    submit(client, invitation, merchant_rating="2", merchant_comment="Parcel arrived damaged.")
    merchant = reviews_of(invitation).get(kind="merchant")
    assert (merchant.rating, merchant.comment, merchant.version) == (
        2,
        "Parcel arrived damaged.",
        2,
    )
    history = list(
        ReviewVersion.objects.for_company(invitation.company_id)
        .filter(review=merchant)
        .values_list("version", "rating", "comment")
    )
    assert history == [(1, 4, "Quick and friendly."), (2, 2, "Parcel arrived damaged.")]


def test_it_lets_the_evaluator_delete_the_review_and_spends_the_link(client, invitation):
    """R15: deletion removes text, name and media; the link answers 410 afterwards."""
    open_session(client, invitation)
    submit(client, invitation, display_name="Kim")
    response = client.post(reverse("reviews:delete"))
    assert response.status_code == 200
    for review in reviews_of(invitation):
        assert (review.status, review.comment, review.display_name) == ("deleted", "", "")
    assert client.get(link(invitation)).status_code == 410


def test_it_ignores_ratings_of_products_that_are_not_in_the_order(client, invitation, shop):
    stranger = factories.ProductFactory(shop=shop, name="Not bought")
    open_session(client, invitation)
    submit(client, invitation, **{f"product_{stranger.pk}_rating": "1"})
    assert not reviews_of(invitation).filter(product=stranger).exists()


def test_it_explains_a_missing_star_rating_and_stores_nothing(client, invitation):
    open_session(client, invitation)
    response = client.post(RATE, {"merchant_comment": "no stars"})
    assert response.status_code == 400
    assert "Choose from 1 to 5 stars." in response.content.decode()
    assert not reviews_of(invitation).exists()


@pytest.mark.parametrize("stars", ["0", "6", "five", "4.5"])
def test_it_refuses_stars_outside_one_to_five_and_stores_nothing_r12(client, invitation, stars):
    """R12, IN-2: a forged star value is refused with the form's message, shown beside the
    shop's stars or the product's, and nothing is stored; the form offers exactly five stars."""
    product = product_of(invitation)
    open_session(client, invitation)
    for field in ("merchant_rating", f"product_{product.pk}_rating"):
        data = {"merchant_rating": "4", field: stars}
        response = client.post(RATE, data)
        page = response.content.decode()
        assert response.status_code == 400
        assert f"Select a valid choice. {stars} is not one of the available choices." in page
        assert not reviews_of(invitation).exists()
    form = client.get(RATE).content.decode()
    assert form.count('name="merchant_rating"') == 5
    assert [f'name="merchant_rating" value="{n}"' in form for n in range(1, 6)] == [True] * 5
    assert form.count(f'name="product_{product.pk}_rating"') == 5


def test_it_stores_hostile_text_as_typed_and_shows_it_escaped(client, invitation):
    """IN-5: scripts and markup are text, everywhere they appear."""
    hostile = '<script>alert(1)</script><img src=x onerror=alert(2)> =HYPERLINK("x")'
    open_session(client, invitation)
    submit(client, invitation, merchant_comment=hostile)
    assert reviews_of(invitation).get(kind="merchant").comment == hostile
    client.get(link(invitation))
    page = client.get(RATE).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def _jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (64, 48), "orange")
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Inc."  # Make
    exif[0x8825] = {2: (52.0, 31.0, 12.0)}  # GPSInfo: latitude
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def test_it_re_encodes_photos_without_their_exif_data(client, invitation):
    """Media: images are re-encoded; location and camera data are gone."""
    original = _jpeg_with_gps()
    assert b"SpyCam" in original
    open_session(client, invitation)
    photo = SimpleUploadedFile("holiday.jpg", original, content_type="image/jpeg")
    assert submit(client, invitation, photos=[photo]).status_code == 303
    media = ReviewMedia.objects.for_company(invitation.company_id).get()
    stored = media.file.read()
    assert b"SpyCam" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.getexif() == {}
        assert image.size == (64, 48)
    assert "holiday" not in media.file.name
    # Photos wait for a moderator unless staff allowed the shop to publish them directly (R17).
    assert (media.kind, media.content_type, media.status) == ("photo", "image/jpeg", "pending")


@pytest.mark.parametrize(
    ("field", "upload", "message"),
    [
        (
            "photos",
            SimpleUploadedFile("x.jpg", b"not an image", "image/jpeg"),
            "not a photo we can read",
        ),
        (
            "videos",
            SimpleUploadedFile("x.mp4", b"plain text, not a video", "video/mp4"),
            "MP4 or WebM",
        ),
    ],
)
def test_it_refuses_files_that_are_not_what_they_claim(client, invitation, field, upload, message):
    """Bad uploads get a clear message, and nothing at all is stored."""
    open_session(client, invitation)
    response = submit(client, invitation, **{field: [upload]})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not reviews_of(invitation).exists()


def test_it_refuses_more_than_five_photos(client, invitation):
    open_session(client, invitation)
    photos = [SimpleUploadedFile(f"p{n}.jpg", _jpeg_with_gps(), "image/jpeg") for n in range(6)]
    response = submit(client, invitation, photos=photos)
    assert response.status_code == 400
    assert "at most 5 photos" in response.content.decode()


def test_it_accepts_a_small_mp4_video(client, invitation):
    video = SimpleUploadedFile("clip.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64, "video/mp4")
    open_session(client, invitation)
    assert submit(client, invitation, videos=[video]).status_code == 303
    media = ReviewMedia.objects.for_company(invitation.company_id).get()
    assert (media.kind, media.content_type) == ("video", "video/mp4")


def test_it_closes_the_form_when_staff_stopped_ratings(client, invitation, shop):
    """R30: a shop whose new ratings are stopped answers with a neutral 410."""
    Shop.objects.for_company(shop.company).filter(pk=shop.pk).update(ratings_stopped=True)
    assert client.get(link(invitation)).status_code == 410


def test_it_needs_a_review_session_for_the_form(client, invitation):
    assert client.get(RATE).status_code == 404
    assert client.post(RATE, {"merchant_rating": "5"}).status_code == 404
    assert not reviews_of(invitation).exists()


def test_it_writes_only_into_the_links_own_company(client, invitation, other_invitation):
    """R4: a session opened with A's link can never create or change B's reviews."""
    factories.ReviewFactory(shop=other_invitation.shop, invitation=other_invitation, rating=5)
    open_session(client, invitation)
    submit(client, invitation, merchant_rating="1")
    theirs = Review.objects.for_company(other_invitation.company_id).get()
    assert (theirs.rating, theirs.invitation_id) == (5, other_invitation.pk)
    assert reviews_of(invitation).get(kind="merchant").company_id == invitation.company_id


def test_it_keeps_the_dialogue_email_off_every_public_page(client, invitation):
    """R16: the address is stored for the dialogue, never shown."""
    open_session(client, invitation)
    submit(client, invitation, dialogue_email="kim.private@example.org")
    merchant = reviews_of(invitation).get(kind="merchant")
    assert merchant.dialogue_email == "kim.private@example.org"
    page = client.get(f"/c/{invitation.shop.slug}/").content.decode()
    assert "kim.private@example.org" not in page
    assert "Quick and friendly." in page


@pytest.mark.django_db(transaction=True)
def test_it_keeps_one_review_under_twenty_concurrent_submissions(shop):
    """AU-3 (concurrent): exactly one review, none a 500. The statement that stores a first
    submission lets one request win; the others find the link used and become (unchanged)
    edits of the same evaluator's review (R15), or 409 when they lose the race to the edit."""
    import threading

    from django.db import connection
    from django.test import Client

    invitation = factories.InvitationFactory(shop=shop, status="sent")
    clients = [Client() for _ in range(20)]
    for each in clients:
        open_session(each, invitation)
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []

    def post(each):
        try:
            barrier.wait(timeout=30)
            statuses.append(each.post(RATE, {"merchant_rating": "5"}).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(each,)) for each in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(statuses) == 20 and set(statuses) <= {303, 409}
    assert reviews_of(invitation).count() == 1
    assert reviews_of(invitation).get().version == 1


def test_it_speaks_the_invitations_language_and_offers_a_switch(client, shop):
    """Issue: language follows the invitation's locale (English and German), with a switcher."""
    invitation = factories.InvitationFactory(shop=shop, status="sent", order__locale="de")
    open_session(client, invitation)
    german = client.get(RATE).content.decode()
    assert "Wie bewerten Sie Ihren Einkauf in diesem Shop insgesamt?" in german
    assert 'href="?lang=en"' in german
    english = client.get(RATE + "?lang=en").content.decode()
    assert "How do you rate your purchase at this shop overall?" in english
    # The choice sticks for the rest of the review session.
    assert "How do you rate your purchase" in client.get(RATE).content.decode()


def test_it_stores_a_first_submission_with_one_statement_r13_r17(client, invitation):
    """R13, R17 (issue 12): the POST's review session is the signed cookie, which carries the
    form's products, so it makes the one call that checks the link and stores the pending
    reviews and no other query; the screening is left to the worker."""
    open_session(client, invitation)
    product = product_of(invitation)
    data = {"merchant_rating": "4", f"product_{product.pk}_rating": "5"}
    with CaptureQueriesContext(connection) as queries:
        response = client.post(RATE, data)
    statements = [q["sql"] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) == 1 and "reviews_receive(" in statements[0], statements
    assert response.status_code == 303
    assert set(reviews_of(invitation).values_list("kind", "status")) == {
        ("merchant", "pending"),
        ("product", "pending"),
    }


def _tampered(value: str) -> str:
    head, sep, signature = value.rpartition(":")
    return f"{head}{sep}{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"


def test_it_keeps_the_review_session_in_a_signed_cookie_without_the_token_au_4(client, invitation):
    """AU-4, TI-4: opening a link sets one HttpOnly, SameSite=Lax cookie for ``/r/`` only,
    valid two hours, holding the invitation's id and the form's products but not the token; no
    database session is created for an evaluator."""
    from django.contrib.sessions.models import Session
    from django.core import signing

    sessions_before = Session.objects.count()
    response = open_session(client, invitation)
    cookie = response.cookies["review"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/r/"
    assert cookie["max-age"] == 7200
    assert "sessionid" not in response.cookies
    assert Session.objects.count() == sessions_before
    token = tokens.token_for(invitation.token_nonce)
    assert token not in cookie.value and invitation.token_nonce not in cookie.value
    data = signing.loads(cookie.value, salt="reviews.review-session")
    product = product_of(invitation)
    assert data["id"] == invitation.pk and data["products"] == [[product.pk, product.name]]
    assert token not in repr(data)


def test_it_refuses_an_altered_or_outdated_review_session_and_stores_nothing_au_3(
    client, invitation, other_invitation
):
    """AU-3, R4: a cookie whose signature does not match (altered, or signed with another key)
    or whose two hours are over opens nothing: the form and the POST answer "session ended"
    and nothing is stored for either link."""
    from django.core import signing

    response = open_session(client, invitation)
    genuine = response.cookies["review"].value
    forged_for_other = signing.dumps(
        {"id": other_invitation.pk, "until": time.time() + 3600},
        key="not-the-secret-key",
        salt="reviews.review-session",
        compress=True,
    )
    outdated = signing.dumps(
        {"id": invitation.pk, "until": time.time() - 1}, salt="reviews.review-session"
    )
    for value in (_tampered(genuine), forged_for_other, outdated, "garbage"):
        client.cookies["review"] = value
        assert client.get(RATE).status_code == 404
        assert client.post(RATE, {"merchant_rating": "5"}).status_code == 404
    assert not reviews_of(invitation).exists() and not reviews_of(other_invitation).exists()


def test_it_leaves_a_large_orders_products_out_of_the_cookie_and_still_takes_them_r13(
    client, invitation, shop
):
    """R13: an order whose product names would not fit a browser's 4 KB cookie gets a review
    session without them; the form and the POST read them from the order."""
    products = [
        factories.ProductFactory(shop=shop, name=f"Trail shoe {uuid.uuid4().hex}{uuid.uuid4().hex}")
        for n in range(120)
    ]
    for product in products:
        factories.OrderItemFactory(shop=shop, order=invitation.order, product=product)
    response = open_session(client, invitation)
    assert len(response.cookies["review"].OutputString()) < 4096
    last = products[-1]
    assert last.name in client.get(RATE).content.decode()
    data = {"merchant_rating": "4", f"product_{last.pk}_rating": "2"}
    assert client.post(RATE, data).status_code == 303
    assert reviews_of(invitation).get(product=last).rating == 2


def test_it_ends_the_review_session_when_the_review_is_deleted_r16(client, invitation):
    """R16: after the evaluator deletes the review, the cookie is cleared and the form is gone."""
    open_session(client, invitation)
    submit(client, invitation)
    response = client.post(reverse("reviews:delete"))
    assert response.status_code == 200
    assert response.cookies["review"]["max-age"] == 0
    assert client.get(RATE).status_code == 404
