"""A first submission is stored at once and screened by a worker (R13, R17, R23, AU-3).

``review_receive`` is the rating page's POST: one statement stores the pending reviews and their
versions and marks the link used; ``review_screen_submission`` (the queued task's body) decides
them with the single decision point of R17.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
from collections.abc import Iterator

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import before_task_publish
from django.test import Client, TestCase
from django.utils import timezone

from ekomi.broker import redis_client
from ekomi.celery import app as celery_app
from invitations.models import Invitation, OrderItem
from reviews import services, services_submission, tasks
from reviews.models import Review, ReviewVersion
from tests import factories
from tests.live.broker import publishing_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def invitation(shop):
    invitation = factories.InvitationFactory(shop=shop, status="sent")
    factories.OrderItemFactory(shop=shop, order=invitation.order)
    return invitation


@pytest.fixture
def other_invitation(other_shop):
    invitation = factories.InvitationFactory(shop=other_shop, status="sent")
    factories.OrderItemFactory(shop=other_shop, order=invitation.order)
    return invitation


def product_id(invitation) -> int:
    return (
        OrderItem.objects.for_company(invitation.company_id).get(order=invitation.order).product_id
    )


def submission(invitation, text="Quick and friendly.", stars=4):
    return services.Submission(
        merchant=services.RatingInput(stars, text),
        products={product_id(invitation): services.RatingInput(5, "Fits well.")},
        display_name="Kim B.",
    )


def reviews_of(invitation):
    return Review.objects.for_company(invitation.company_id).filter(invitation=invitation)


def test_it_stores_the_submission_pending_and_without_text_until_it_is_screened_r17(
    invitation, eager_tasks
):
    """R17, R13: the POST's statement stores one merchant and one product review, pending, with
    no text of their own (the text waits in version 1), and marks the link rated; nothing is
    public before the check; the screening then publishes both with the text."""
    services_submission.review_receive(
        invitation_id=invitation.pk, submission=submission(invitation), queue=False
    )
    rows = {r.kind: r for r in reviews_of(invitation)}
    assert {r.status for r in rows.values()} == {Review.Status.PENDING}
    assert {r.comment for r in rows.values()} == {""}
    versions = ReviewVersion.objects.for_company(invitation.company_id)
    assert set(versions.values_list("comment", flat=True)) == {"Quick and friendly.", "Fits well."}
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.RATED and invitation.used_at is not None
    page = Client().get(f"/c/{invitation.shop.slug}/").content.decode()
    assert "Kim B." not in page

    with TestCase.captureOnCommitCallbacks(execute=True):  # the caches retire after commit
        decided = services_submission.review_screen_submission(invitation_id=invitation.pk)
    assert {(r.kind, r.status) for r in decided} == {
        ("merchant", Review.Status.PUBLISHED),
        ("product", Review.Status.PUBLISHED),
    }
    merchant = reviews_of(invitation).get(kind="merchant")
    assert merchant.comment == "Quick and friendly." and merchant.published_at is not None
    assert "Quick and friendly." in Client().get(f"/c/{invitation.shop.slug}/").content.decode()


def test_it_stars_and_holds_in_the_screening_whatever_the_stars_r17_r18(invitation, shop):
    """R17, R18: the worker's check is the same decision point as before; a five-star review
    with an insult is starred like a one-star one."""
    services_submission.review_receive(
        invitation_id=invitation.pk,
        submission=submission(invitation, text="Der Fahrer war ein Vollidiot.", stars=5),
        queue=False,
    )
    services_submission.review_screen_submission(invitation_id=invitation.pk)
    merchant = reviews_of(invitation).get(kind="merchant")
    assert "Vollidiot" not in merchant.comment and "***" in merchant.comment


def test_it_is_safe_to_screen_a_submission_twice_r17(invitation):
    """STYLE 3: a second run finds nothing pending and changes nothing."""
    services_submission.review_receive(
        invitation_id=invitation.pk, submission=submission(invitation), queue=False
    )
    first = services_submission.review_screen_submission(invitation_id=invitation.pk)
    before = list(reviews_of(invitation).values_list("pk", "status", "comment", "updated_at"))
    assert len(first) == 2
    assert services_submission.review_screen_submission(invitation_id=invitation.pk) == []
    after = list(reviews_of(invitation).values_list("pk", "status", "comment", "updated_at"))
    assert after == before


def test_it_takes_a_link_once_and_stores_nothing_for_a_closed_one_au_3(invitation, shop):
    """AU-3, R9, R30: a second submission is refused; an expired link or a shop whose ratings
    are stopped stores nothing at all."""
    services_submission.review_receive(
        invitation_id=invitation.pk, submission=submission(invitation), queue=False
    )
    with pytest.raises(services.AlreadySubmitted):
        services_submission.review_receive(
            invitation_id=invitation.pk, submission=submission(invitation), queue=False
        )
    assert reviews_of(invitation).count() == 2

    created = timezone.now() - datetime.timedelta(days=200)  # past the six months of R9
    expired = factories.InvitationFactory(shop=shop, status="sent", created_at=created)
    stopped = factories.InvitationFactory(shop=factories.ShopFactory(ratings_stopped=True))
    for closed in (expired, stopped):
        with pytest.raises(services.LinkNotUsable):
            services_submission.review_receive(
                invitation_id=closed.pk,
                submission=services.Submission(merchant=services.RatingInput(5, "Good.")),
                queue=False,
            )
        assert not reviews_of(closed).exists()
        closed.refresh_from_db()
        assert closed.status != Invitation.Status.RATED


def test_it_ignores_products_that_are_not_in_the_order_r13(invitation, other_invitation):
    """R13: only the order's products can be rated, even in a forged POST naming another
    company's product."""
    forged = services.Submission(
        merchant=services.RatingInput(4, "Fine."),
        products={product_id(other_invitation): services.RatingInput(1, "Forged.")},
    )
    services_submission.review_receive(invitation_id=invitation.pk, submission=forged, queue=False)
    assert list(reviews_of(invitation).values_list("kind", flat=True)) == ["merchant"]
    assert not Review.objects.for_company(other_invitation.company_id).exists()


def test_it_screens_only_the_named_submission_and_never_another_companys(
    invitation, other_invitation
):
    """R17, tenancy: screening one link's submission leaves another company's pending."""
    for link in (invitation, other_invitation):
        services_submission.review_receive(
            invitation_id=link.pk, submission=submission(link), queue=False
        )
    services_submission.review_screen_submission(invitation_id=invitation.pk)
    assert set(reviews_of(other_invitation).values_list("status", flat=True)) == {"pending"}
    assert set(reviews_of(invitation).values_list("status", flat=True)) == {"published"}


@contextlib.contextmanager
def published() -> Iterator[list[tuple[str, list]]]:
    """The Celery messages this process publishes meanwhile: (task name, args)."""
    seen: list[tuple[str, list]] = []

    def record(sender=None, body=None, **kwargs):
        seen.append((sender, list(body[0])))

    before_task_publish.connect(record, weak=False)
    try:
        yield seen
    finally:
        before_task_publish.disconnect(record)


def waiting(settings) -> list[str]:
    return [item.decode() for item in redis_client().lrange(settings.REVIEW_SCREENING_LIST, 0, -1)]


def receive(link, client_ip=None) -> str | None:
    with TestCase.captureOnCommitCallbacks(execute=True):
        return services_submission.review_receive(
            invitation_id=link.pk, submission=submission(link), client_ip=client_ip
        )


def test_it_queues_the_screening_with_the_network_and_not_the_address_r17_r23(invitation, settings):
    """R17, R23: after commit the submission waits in the broker's list with the keyed network
    hash the burst checks compare, never the client's address, and a worker is woken."""
    with published() as seen:
        network = receive(invitation, client_ip="203.0.113.7")
    assert waiting(settings) == [f"{invitation.pk} {network}"]
    assert seen == [("reviews.screen_waiting_submissions", [])]
    assert network and "203.0.113.7" not in repr(waiting(settings))
    assert set(reviews_of(invitation).values_list("status", flat=True)) == {"pending"}


def test_it_wakes_one_worker_for_a_burst_and_screens_it_in_batches_r17(
    shop, other_shop, settings, monkeypatch
):
    """R17: submissions that find others waiting publish nothing (one message per batch of
    ``SCREENING_BATCH``); the worker decides them all, oldest first, and a full batch wakes
    another worker for the rest. Both companies' submissions are decided in their own tenant."""
    monkeypatch.setattr(services_submission, "SCREENING_BATCH", 2)
    links = []
    for owner in (shop, other_shop, shop):
        link = factories.InvitationFactory(shop=owner, status="sent")
        factories.OrderItemFactory(shop=owner, order=link.order)
        links.append(link)
    with published() as seen:
        for link in links:
            receive(link)
    assert [item.split(" ")[0] for item in waiting(settings)] == [str(x.pk) for x in links]
    assert seen == [("reviews.screen_waiting_submissions", [])] * 2  # at 1 and at 3 waiting

    with published() as seen:
        assert services_submission.reviews_screen_waiting(batch=2) == 3
    assert seen == [("reviews.screen_waiting_submissions", [])]  # the first batch was full
    assert waiting(settings) == []
    for link in links:
        assert set(reviews_of(link).values_list("status", flat=True)) == {"published"}
        assert set(reviews_of(link).values_list("company_id", flat=True)) == {link.company_id}


def test_it_leaves_the_rest_to_the_worker_it_woke_when_a_task_has_done_its_share_r17(
    shop, settings
):
    """R17: one task takes at most ``batches`` batches (its time limit); the last of them was
    full, so it woke another worker, which takes the rest."""
    links = []
    for _ in range(5):
        link = factories.InvitationFactory(shop=shop, status="sent")
        factories.OrderItemFactory(shop=shop, order=link.order)
        services_submission.review_receive(
            invitation_id=link.pk, submission=submission(link), queue=False
        )
        redis_client().rpush(settings.REVIEW_SCREENING_LIST, f"{link.pk} ")
        links.append(link)
    with published() as seen:
        assert services_submission.reviews_screen_waiting(batch=2, batches=2) == 4
    assert seen == [("reviews.screen_waiting_submissions", [])] * 2
    assert waiting(settings) == [f"{links[-1].pk} "]
    assert services_submission.reviews_screen_waiting(batch=2, batches=2) == 1
    for link in links:
        assert set(reviews_of(link).values_list("status", flat=True)) == {"published"}


def test_it_stops_at_its_time_limit_instead_of_screening_on_r17(invitation, settings, monkeypatch):
    """R17: Celery's soft time limit ends the task (the rest stays pending for the backstop);
    it is not taken for one submission's failure."""
    receive(invitation)

    def out_of_time(**kwargs):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(services_submission, "review_screen_submission", out_of_time)
    with pytest.raises(SoftTimeLimitExceeded):
        services_submission.reviews_screen_waiting()


def test_it_screens_the_rest_of_a_batch_when_one_submission_fails_r17(invitation, settings, caplog):
    """R17: a submission whose screening raises is logged and left pending for the backstop;
    the others taken with it are decided."""
    redis_client().rpush(settings.REVIEW_SCREENING_LIST, "not-an-id ")
    receive(invitation)
    with caplog.at_level(logging.ERROR):
        assert services_submission.reviews_screen_waiting() == 1
    assert "screening of invitation not-an-id failed" in caplog.text
    assert set(reviews_of(invitation).values_list("status", flat=True)) == {"published"}


def test_it_screens_a_list_nobody_was_woken_for_in_the_backstop_r17(invitation, settings):
    """R17: a submission left waiting because its wake-up message was lost (a web process
    killed between the two) is decided by the periodic backstop, with its network."""
    network = services_submission.review_receive(
        invitation_id=invitation.pk,
        submission=submission(invitation),
        client_ip="198.51.100.4",
        queue=False,
    )
    redis_client().rpush(settings.REVIEW_SCREENING_LIST, f"{invitation.pk} {network}")
    assert tasks.screen_overdue_submissions() == 1
    assert waiting(settings) == []
    assert set(reviews_of(invitation).values_list("status", flat=True)) == {"published"}


def test_it_publishes_one_message_per_submission_on_a_broker_other_than_redis_r17(invitation):
    """R17: without a Redis broker (the embedded default's file broker, RabbitMQ) each
    submission publishes its own ``reviews.screen_submission`` with its network."""
    with publishing_to("memory://"), published() as seen:
        network = receive(invitation, client_ip="203.0.113.7")
    assert seen == [("reviews.screen_submission", [invitation.pk, network])]


def test_it_screens_in_the_request_when_the_broker_is_down(invitation, unused_tcp_port, caplog):
    """R17, FA-3: without a broker the review is decided at once instead of waiting."""
    celery_app.conf.task_always_eager = False
    with (
        publishing_to(f"redis://127.0.0.1:{unused_tcp_port}/0"),
        caplog.at_level(logging.WARNING),
        TestCase.captureOnCommitCallbacks(execute=True),
    ):
        services_submission.review_receive(
            invitation_id=invitation.pk, submission=submission(invitation)
        )
    assert set(reviews_of(invitation).values_list("status", flat=True)) == {"published"}
    assert "runs inline" in caplog.text


def test_it_screens_submissions_whose_message_was_lost_r17(invitation, other_invitation):
    """R17: the backstop decides submissions still pending two minutes on, not fresh ones."""
    for link in (invitation, other_invitation):
        services_submission.review_receive(
            invitation_id=link.pk, submission=submission(link), queue=False
        )
    Review.objects.unscoped().filter(invitation=invitation).update(
        submitted_at=timezone.now() - datetime.timedelta(minutes=3)
    )
    assert services_submission.reviews_screen_overdue() == 1
    assert set(reviews_of(invitation).values_list("status", flat=True)) == {"published"}
    assert set(reviews_of(other_invitation).values_list("status", flat=True)) == {"pending"}
    assert services_submission.reviews_screen_overdue() == 0


def test_it_edits_a_submission_still_waiting_for_its_screening_r15(invitation):
    """R15: an edit before the worker ran compares with the submitted text: the same text
    again adds no version; a change is decided at once and the screening then leaves it."""
    services_submission.review_receive(
        invitation_id=invitation.pk, submission=submission(invitation), queue=False
    )
    same = services.review_edit(invitation_id=invitation.pk, submission=submission(invitation))
    assert same == []
    assert ReviewVersion.objects.for_company(invitation.company_id).count() == 2

    services.review_edit(
        invitation_id=invitation.pk, submission=submission(invitation, text="Slow.", stars=2)
    )
    merchant = reviews_of(invitation).get(kind="merchant")
    assert (merchant.status, merchant.rating, merchant.comment, merchant.version) == (
        Review.Status.PUBLISHED,
        2,
        "Slow.",
        2,
    )
    decided = services_submission.review_screen_submission(invitation_id=invitation.pk)
    assert [r.kind for r in decided] == ["product"]
    assert reviews_of(invitation).get(kind="merchant").version == 2


@pytest.mark.django_db(transaction=True)  # as a request runs it: no transaction around it
def test_it_plans_the_receiving_statement_once_per_connection_r13(shop):
    """R13 (issue 12): every lookup of the receiving statement is by key, so one generic plan
    serves every submission (left to decide, Postgres re-planned it on each call): the function
    that runs it carries ``plan_cache_mode = force_generic_plan``, and a submission is one
    autocommitted call, with no transaction statements around it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with connection.cursor() as cursor:
        cursor.execute("SELECT proconfig FROM pg_proc WHERE proname = 'reviews_receive'")
        assert cursor.fetchone()[0] == ["plan_cache_mode=force_generic_plan"]
    invitation = factories.InvitationFactory(shop=shop, status="sent")
    factories.OrderItemFactory(shop=shop, order=invitation.order)
    submitted = submission(invitation)
    with CaptureQueriesContext(connection) as queries:
        services_submission.review_receive(
            invitation_id=invitation.pk, submission=submitted, queue=False
        )
    statements = [query["sql"] for query in queries.captured_queries]
    assert len(statements) == 1 and "reviews_receive(" in statements[0], statements
    assert reviews_of(invitation).count() == 2
