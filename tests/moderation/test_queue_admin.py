"""The moderation queue and workbench in Django admin (R18, R19, R21, R22, R23, TI-5).

Every action: what it changes, its entry in the moderation log (who, what, why, before and
after), Django's LogEntry, and the chain still verifying afterwards.
"""

from __future__ import annotations

import datetime

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from companies.services_staff import staff_user_upsert
from moderation import log
from moderation.models import (
    Complaint,
    IntegritySignal,
    ModerationLogEntry,
    ReplacementOffer,
)
from reviews.models import CompanyComment, DialogueMessage, Review, ReviewMedia, ReviewVersion
from seals import public_cache
from tests import factories
from tests.moderation import factories as mf
from tests.platform.test_admin import admin_login

pytestmark = pytest.mark.django_db

QUEUE = "/admin/moderation/queuedreview/"


@pytest.fixture
def moderator():
    return staff_user_upsert(
        email="moderator@platform.example", password="moderate-with-care-42", moderator=True
    ).user


@pytest.fixture
def staff(client, moderator):
    admin_login(client, moderator)
    return client


def workbench(review) -> str:
    return reverse("admin:moderation_queuedreview_change", args=[review.pk])


def act(client, review, **data):
    response = client.post(workbench(review), data)
    assert response.status_code == 302, response.content.decode()[:500]
    return client.get(workbench(review))


def fresh(review) -> Review:
    return Review.objects.unscoped().get(pk=review.pk)


def last_entry() -> ModerationLogEntry:
    return ModerationLogEntry.objects.unscoped().order_by("-id").first()


def ago(**delta):
    return timezone.now() - datetime.timedelta(**delta)


# --- The queue ------------------------------------------------------------------------------


def test_it_lists_everything_waiting_oldest_first(staff, shop, other_shop):
    """Held reviews, media, complaints, signals, held comments and messages, across companies,
    in the order they started waiting; a clean published review is not in it."""
    clean = factories.ReviewFactory(shop=shop)
    held = mf.HeldReviewFactory(shop=shop)
    Review.objects.unscoped().filter(pk=held.pk).update(updated_at=ago(hours=5))
    media = factories.ReviewMediaFactory(shop=other_shop)
    ReviewMedia.objects.unscoped().filter(pk=media.pk).update(created_at=ago(hours=9))
    complaint = mf.ComplaintFactory(shop=shop)
    Complaint.objects.unscoped().filter(pk=complaint.pk).update(created_at=ago(hours=1))
    comment = mf.CompanyCommentFactory(shop=shop, status=CompanyComment.Status.HELD)
    CompanyComment.objects.unscoped().filter(pk=comment.pk).update(updated_at=ago(hours=3))
    message = mf.DialogueMessageFactory(shop=shop, status=DialogueMessage.Status.HELD)
    DialogueMessage.objects.unscoped().filter(pk=message.pk).update(created_at=ago(hours=7))

    page = staff.get(QUEUE).content.decode()
    order = [media.review, message.thread.review, held, comment.review, complaint.review]
    positions = [page.index(workbench(review)) for review in order]
    assert positions == sorted(positions)
    assert workbench(clean) not in page
    for why in ("photo or video to check", "open complaint", "company comment held"):
        assert why in page


def test_it_shows_the_review_its_history_findings_and_signals(staff, shop):
    signal = mf.IntegritySignalFactory(shop=shop)
    review = signal.review
    ReviewVersion.objects.unscoped().create(
        company=shop.company, shop=shop, review=review, version=1, rating=5, comment="v1 Idiot"
    )
    mf.ModerationFindingFactory(shop=shop, review=review, rule="profanity", start=3, end=8)
    page = staff.get(workbench(review)).content.decode()
    assert "v1 Idiot" in page
    assert "profanity or insult" in page and "<code>Idiot</code>" in page
    assert escape(signal.explanation) in page
    assert "held the review" in page


def test_it_keeps_company_users_and_password_only_staff_out(client, owner, shop):
    review = mf.HeldReviewFactory(shop=shop)
    client.force_login(owner)
    response = client.get(workbench(review))
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_it_lets_view_only_staff_look_but_not_act(client, shop):
    viewer = factories.UserFactory(is_staff=True)
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(Permission.objects.get(codename="view_queuedreview"))
    admin_login(client, viewer)
    review = mf.HeldReviewFactory(shop=shop)
    assert client.get(workbench(review)).status_code == 200
    assert client.post(workbench(review), {"action": "publish"}).status_code == 403
    assert fresh(review).status == Review.Status.HELD


# --- Actions on reviews -----------------------------------------------------------------------


def test_it_publishes_a_held_review_and_settles_the_signals_that_held_it(staff, moderator, shop):
    signal = mf.IntegritySignalFactory(shop=shop)
    review = signal.review
    act(staff, review, action="publish", justification="customer of many years")
    review = fresh(review)
    assert review.status == Review.Status.PUBLISHED and review.published_at is not None
    signal = IntegritySignal.objects.unscoped().get(pk=signal.pk)
    assert (signal.status, signal.resolved_by) == ("dismissed", moderator)
    entry = last_entry()
    assert (entry.action, entry.actor, entry.target_id) == ("publish", moderator, review.pk)
    assert (entry.before["status"], entry.after["status"]) == ("held", "published")
    assert entry.justification == "customer of many years"
    assert LogEntry.objects.filter(object_id=str(review.pk), user=moderator).exists()


def test_it_stars_out_a_selected_span_keeping_stars_and_offering_a_replacement(
    staff, moderator, shop, django_capture_on_commit_callbacks, mailoutbox
):
    """R18, R21: the span becomes ***, the stars stay, a new version is kept, and the
    evaluator who left an address is offered by email to replace the review."""
    review = factories.ReviewFactory(
        shop=shop,
        rating=1,
        comment="The owner Max Mustermann is a liar. Slow delivery.",
        dialogue_email="kim.dialogue@example.net",
    )
    with django_capture_on_commit_callbacks(execute=True):
        act(
            staff,
            review,
            action="obscure",
            fragment="Max Mustermann is a liar",
            reason="discretion",
        )
    review = fresh(review)
    assert (review.comment, review.rating, review.status) == (
        "The owner ***. Slow delivery.",
        1,
        "published",
    )
    version = ReviewVersion.objects.unscoped().get(review=review, version=review.version)
    assert (version.comment, version.edited_by) == (review.comment, moderator)
    entry = last_entry()
    assert entry.action == "obscure"
    # R42, R43: the log keeps digests of the text, never the text itself.
    assert entry.before["comment"] != "The owner Max Mustermann is a liar. Slow delivery."
    assert entry.after["comment"] == log.text_digest(review.comment)
    assert "Max" not in str(entry.before)
    offer = ReplacementOffer.objects.unscoped().get(review=review)
    assert offer.cause == "obscured"
    (email,) = mailoutbox
    assert email.to == ["kim.dialogue@example.net"] and "/m/replace/" in email.body


@pytest.mark.parametrize("action", ["unpublish", "delete"])
def test_it_needs_a_reason_from_r19_to_take_a_review_down(staff, shop, action):
    review = factories.ReviewFactory(shop=shop)
    page = act(staff, review, action=action, reason="").content.decode()
    assert "reasons the review conditions allow" in page
    page = act(staff, review, action=action, reason="discretion", justification=" ").content
    assert "written justification" in page.decode()
    assert fresh(review).status == Review.Status.PUBLISHED
    assert not ModerationLogEntry.objects.unscoped().exists()


@pytest.mark.parametrize(
    ("action", "status"), [("unpublish", "unpublished"), ("delete", "deleted")]
)
def test_it_takes_a_review_down_with_a_reason_and_restores_it(
    staff, moderator, shop, action, status
):
    review = factories.ReviewFactory(shop=shop)
    act(staff, review, action=action, reason="court_order", justification="LG Köln 28 O 1/26")
    assert fresh(review).status == status
    entry = last_entry()
    assert (entry.action, entry.reason, entry.justification) == (
        action,
        "court_order",
        "LG Köln 28 O 1/26",
    )
    act(staff, review, action="restore", justification="order lifted on appeal")
    review = fresh(review)
    assert (review.status, review.deleted_at) == ("published", None)
    assert last_entry().action == "restore"
    assert log.log_verify().ok


def test_it_never_restores_a_review_the_evaluator_deleted(staff, shop):
    review = factories.ReviewFactory(shop=shop, status=Review.Status.DELETED, comment="")
    page = act(staff, review, action="restore", justification="why not").content.decode()
    assert "Only a review a moderator took down can be restored." in page
    assert fresh(review).status == Review.Status.DELETED


def test_it_offers_no_replacement_after_a_deletion_for_manipulation(staff, shop):
    review = factories.ReviewFactory(shop=shop, dialogue_email="kim.dialogue@example.net")
    act(staff, review, action="delete", reason="manipulation", justification="bought review")
    assert not ReplacementOffer.objects.unscoped().exists()


# --- Media, company comments, dialogue messages, signals ----------------------------------------


def test_it_rejects_and_publishes_media(staff, moderator, shop):
    photo = factories.ReviewMediaFactory(shop=shop, status=ReviewMedia.Status.PENDING)
    other = factories.ReviewMediaFactory(shop=shop, review=photo.review)
    ReviewMedia.objects.unscoped().filter(pk=other.pk).update(status="pending")
    act(staff, photo.review, action="media_reject", target=photo.pk, justification="a face")
    act(staff, photo.review, action="media_publish", target=other.pk)
    statuses = dict(ReviewMedia.objects.unscoped().values_list("pk", "status"))
    assert statuses == {photo.pk: "rejected", other.pk: "published"}
    actions = list(ModerationLogEntry.objects.unscoped().values_list("action", "target_id"))
    assert actions == [("media_reject", photo.pk), ("media_publish", other.pk)]


def test_it_refuses_an_action_on_an_item_of_another_review(staff, shop):
    photo = factories.ReviewMediaFactory(shop=shop, status=ReviewMedia.Status.PENDING)
    unrelated = factories.ReviewFactory(shop=shop)
    page = act(staff, unrelated, action="media_reject", target=photo.pk).content.decode()
    assert "does not belong to this review" in page
    assert ReviewMedia.objects.unscoped().get(pk=photo.pk).status == "pending"


def test_it_moderates_a_company_comment(staff, shop):
    comment = mf.CompanyCommentFactory(
        shop=shop, status=CompanyComment.Status.HELD, text="Ask our lawyer Dr. Evil"
    )
    review = comment.review
    act(staff, review, action="comment_obscure", target=comment.pk, fragment="Dr. Evil")
    act(staff, review, action="comment_publish", target=comment.pk)
    comment = CompanyComment.objects.unscoped().get(pk=comment.pk)
    assert (comment.status, comment.text) == ("published", "Ask our lawyer ***")
    act(staff, review, action="comment_remove", target=comment.pk, justification="threat")
    assert CompanyComment.objects.unscoped().get(pk=comment.pk).status == "removed"
    actions = list(ModerationLogEntry.objects.unscoped().values_list("action", flat=True))
    assert actions == ["comment_obscure", "comment_publish", "comment_remove"]


def test_it_releases_or_rejects_held_dialogue_messages(
    staff, shop, django_capture_on_commit_callbacks, mailoutbox
):
    held = mf.DialogueMessageFactory(shop=shop, status=DialogueMessage.Status.HELD)
    other = mf.DialogueMessageFactory(
        shop=shop, thread=held.thread, status=DialogueMessage.Status.HELD
    )
    review = held.thread.review
    with django_capture_on_commit_callbacks(execute=True):
        act(staff, review, action="message_release", target=held.pk)
    act(staff, review, action="message_reject", target=other.pk)
    statuses = dict(DialogueMessage.objects.unscoped().values_list("pk", "status"))
    assert statuses == {held.pk: "published", other.pk: "rejected"}
    (email,) = mailoutbox  # the released company message reaches the evaluator
    assert email.to == ["kim.dialogue@example.net"]


@pytest.mark.parametrize(
    ("action", "status"), [("signal_dismiss", "dismissed"), ("signal_confirm", "confirmed")]
)
def test_it_settles_a_signal_with_a_note(staff, moderator, shop, action, status):
    signal = mf.IntegritySignalFactory(shop=shop)
    act(staff, signal.review, action=action, target=signal.pk, justification="checked the order")
    signal = IntegritySignal.objects.unscoped().get(pk=signal.pk)
    assert (signal.status, signal.resolution_note) == (status, "checked the order")
    assert last_entry().action == action
    # A confirmed signal does not take the review down by itself (never silently, R23).
    assert fresh(signal.review).status == Review.Status.HELD


# --- TI-5(a): one company's caches -------------------------------------------------------------


def test_it_retires_only_the_moderated_shops_cached_pages(
    staff, shop, other_shop, django_capture_on_commit_callbacks
):
    """TI-5(a): moderating A's review gives A's public surfaces a new cache key; B's entries
    stay exactly where they were."""
    review = factories.ReviewFactory(shop=shop)
    before_a = public_cache.entry_key(shop, surface="certificate")
    before_b = public_cache.entry_key(other_shop, surface="certificate")
    with django_capture_on_commit_callbacks(execute=True):
        act(staff, review, action="unpublish", reason="illegal_content", justification="§185")
    shops = {s.pk: s for s in type(shop).objects.unscoped().select_related("company")}
    assert public_cache.entry_key(shops[shop.pk], surface="certificate") != before_a
    assert public_cache.entry_key(shops[other_shop.pk], surface="certificate") == before_b


# --- Complaints on the workbench, and what a moderator's page shows -------------------------------


def test_it_decides_a_complaint_by_starring_out_the_reported_part(staff, moderator, shop):
    """R18, R20: upheld in part: the reported words go, the rest and the stars stay; the
    complaint is decided and both the review action and the decision are logged."""
    review = factories.ReviewFactory(shop=shop, rating=2, comment="Slow. The clerk Anna lies.")
    complaint = mf.ComplaintFactory(shop=shop, review=review, reason="untrue")
    act(
        staff,
        review,
        action="complaint_decide",
        target=complaint.pk,
        outcome="obscured",
        fragment="The clerk Anna lies.",
        justification="Untrue statement about a named employee.",
    )
    assert (fresh(review).comment, fresh(review).rating) == ("Slow. ***", 2)
    complaint = Complaint.objects.unscoped().get(pk=complaint.pk)
    assert (complaint.status, complaint.outcome, complaint.decided_by) == (
        "decided",
        "obscured",
        moderator,
    )
    actions = list(ModerationLogEntry.objects.unscoped().values_list("action", flat=True))
    assert actions == ["obscure", "complaint_decide"]


def test_it_escapes_hostile_review_text_on_the_workbench(staff, shop):
    """IN-5: review text is text in the admin too."""
    review = mf.HeldReviewFactory(
        shop=shop, comment="<script>alert(1)</script><img src=x onerror=alert(2)>"
    )
    page = staff.get(workbench(review)).content.decode()
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
