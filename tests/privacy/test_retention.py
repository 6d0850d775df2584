"""One daily job enforces every retention rule (R11, R14, R23; GD-2). Time-travel tests."""

from __future__ import annotations

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from invitations.models import Invitation, LinkRequest
from invitations.tasks import purge_personal_data
from moderation.models import NetworkSighting
from moderation.retention import personal_data_purge
from reviews.models import Review
from tests import factories
from tests.moderation import factories as moderation_factories

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def _data_past_retention(shop, now):
    """One row per rule, each just past its limit, plus a sibling just inside it."""
    rows = {
        "invitation_old": factories.InvitationFactory(
            shop=shop, status="rated", used_at=now - 31 * DAY
        ),
        "invitation_new": factories.InvitationFactory(
            shop=shop, status="rated", used_at=now - 29 * DAY
        ),
        "request_old": factories.LinkRequestFactory(
            shop=shop, status=LinkRequest.Status.REJECTED, decided_at=now - 31 * DAY
        ),
        "request_sent_old": factories.LinkRequestFactory(
            shop=shop, status=LinkRequest.Status.SENT, sent_at=now - 31 * DAY
        ),
        "request_new": factories.LinkRequestFactory(
            shop=shop, status=LinkRequest.Status.APPROVED, decided_at=now - 29 * DAY
        ),
        "request_pending": factories.LinkRequestFactory(shop=shop),
        "sighting_old": moderation_factories.NetworkSightingFactory(
            shop=shop, seen_at=now - 91 * DAY
        ),
        "sighting_new": moderation_factories.NetworkSightingFactory(
            shop=shop, seen_at=now - 89 * DAY
        ),
    }
    for name, age in (("visitor_old", 8), ("visitor_new", 6)):
        rows[name] = factories.ReviewFactory(
            shop=shop,
            invitation=None,
            is_transaction_based=False,
            status=Review.Status.PENDING,
            author_email=f"{name}@example.net",
            submitted_at=now - age * DAY,
            published_at=None,
        )
    return rows


def test_it_runs_every_retention_rule_and_reports_counts_per_rule(shop, other_shop):
    """R11, R14, R23, GD-2: each rule removes what is past its limit, across every tenant."""
    now = timezone.now()
    rows = _data_past_retention(shop, now)
    other = factories.InvitationFactory(shop=other_shop, status="rated", used_at=now - 40 * DAY)

    assert personal_data_purge(now) == {
        "invitations": 2,
        "link_requests": 2,
        "unconfirmed_reviews": 1,
        "integrity_signals": 1,
        "ended_companies": 0,
        "unconfirmed_signups": 0,
        "exports": 0,
    }

    invitations = Invitation.objects.unscoped()
    assert invitations.get(pk=rows["invitation_old"].pk).email == ""
    assert invitations.get(pk=other.pk).email == ""
    assert invitations.get(pk=rows["invitation_new"].pk).email == rows["invitation_new"].email
    requests = LinkRequest.objects.unscoped()
    assert requests.get(pk=rows["request_old"].pk).email == ""
    assert requests.get(pk=rows["request_sent_old"].pk).email == ""
    assert requests.get(pk=rows["request_new"].pk).email == rows["request_new"].email
    assert requests.get(pk=rows["request_pending"].pk).email == rows["request_pending"].email
    reviews = Review.objects.unscoped()
    assert not reviews.filter(pk=rows["visitor_old"].pk).exists()
    assert reviews.filter(pk=rows["visitor_new"].pk).exists()
    sightings = NetworkSighting.objects.unscoped()
    assert not sightings.filter(pk=rows["sighting_old"].pk).exists()
    assert sightings.filter(pk=rows["sighting_new"].pk).exists()


def test_it_deletes_nothing_more_when_run_twice(shop):
    """GD-2: the first pass removes the PII, the second changes 0 rows; reviews survive."""
    now = timezone.now()
    rows = _data_past_retention(shop, now)
    published = factories.ReviewFactory(shop=shop, invitation=rows["invitation_old"])

    first = personal_data_purge(now)
    second = personal_data_purge(now)

    assert first == {
        "invitations": 1,
        "link_requests": 2,
        "unconfirmed_reviews": 1,
        "integrity_signals": 1,
        "ended_companies": 0,
        "unconfirmed_signups": 0,
        "exports": 0,
    }
    assert set(second.values()) == {0}
    assert Review.objects.unscoped().filter(pk=published.pk).exists()


def test_it_keeps_the_task_and_command_names_and_runs_every_rule(shop):
    """R11, GD-2: the beat task and the command both run the combined purge."""
    now = timezone.now()
    request = factories.LinkRequestFactory(shop=shop, sent_at=now - 31 * DAY)

    counts = purge_personal_data()
    assert counts["link_requests"] == 1
    assert LinkRequest.objects.unscoped().get(pk=request.pk).email == ""

    factories.LinkRequestFactory(shop=shop, decided_at=now - 40 * DAY)
    out = StringIO()
    call_command("purge_personal_data", stdout=out)
    lines = out.getvalue().splitlines()
    assert "  link_requests: 1" in lines
    assert lines[-1] == "personal data erased: 1"
    again = StringIO()
    call_command("purge_personal_data", stdout=again)
    assert again.getvalue().splitlines()[-1] == "personal data erased: 0"


def test_it_logs_counts_only(shop, caplog):
    """R43: the retention log names no email address."""
    request = factories.LinkRequestFactory(
        shop=shop, email="marker-eve@example.test", sent_at=timezone.now() - 31 * DAY
    )
    with caplog.at_level("INFO", logger="moderation.retention"):
        personal_data_purge()
    assert "link_requests" in caplog.text
    assert request.email not in caplog.text
