"""R8: while a staff-approved pause covers today, a shop's invitations and reminders wait; they
go out on the first sweep after the pause, and other shops are not affected."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from companies.models import Shop
from invitations.models import Invitation
from invitations.sending import invitations_send_due
from tests import factories
from tests.dates import local_time

pytestmark = pytest.mark.django_db


def _pause(shop, start, end):
    Shop.objects.unscoped().filter(pk=shop.pk).update(
        invitations_paused_from=start, invitations_paused_until=end
    )


def _status(invitation):
    return Invitation.objects.unscoped().get(pk=invitation.pk).status


def test_it_holds_a_paused_shops_invitations_and_reminders_until_the_pause_ends_r8(
    shop, other_shop, django_capture_on_commit_callbacks
):
    """R8: nothing of the paused shop is claimed during the pause; all of it right after."""
    now = timezone.now()
    today = timezone.localdate(now)
    due = factories.InvitationFactory(shop=shop, due_at=now - datetime.timedelta(minutes=1))
    reminder = factories.InvitationFactory(
        shop=shop, due_at=now, status="sent", sent_at=now, next_reminder_at=now
    )
    other = factories.InvitationFactory(shop=other_shop, due_at=now)
    _pause(shop, today - datetime.timedelta(days=1), today + datetime.timedelta(days=2))

    with django_capture_on_commit_callbacks():
        assert invitations_send_due(now=now) == 1
    assert (_status(due), _status(reminder), _status(other)) == ("scheduled", "sent", "sending")

    # Noon of the day after the pause: now + 72 h is still its last day when now is in the hour
    # after midnight and the clocks go back from summer time in between.
    after = local_time(today + datetime.timedelta(days=3))
    with django_capture_on_commit_callbacks():
        invitations_send_due(now=after)  # also re-queues the other shop's claim, now stale
    assert (_status(due), _status(reminder)) == ("sending", "sending")


def test_it_ignores_a_pause_that_has_not_started_r8(shop, django_capture_on_commit_callbacks):
    """R8: a pause approved for next week does not hold today's invitations."""
    now = timezone.now()
    today = timezone.localdate(now)
    due = factories.InvitationFactory(shop=shop, due_at=now)
    _pause(shop, today + datetime.timedelta(days=7), today + datetime.timedelta(days=14))

    with django_capture_on_commit_callbacks():
        assert invitations_send_due(now=now) == 1
    assert _status(due) == "sending"
