"""Periodic jobs of invitations: link expiry (R9, AU-2) and retention (R11). Safe to run twice."""

from __future__ import annotations

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from invitations.models import Invitation
from invitations.services import invitations_expire, invitations_purge_personal_data
from tests import factories

pytestmark = pytest.mark.django_db


def status_of(invitation):
    return Invitation.objects.unscoped().get(pk=invitation.pk).status


def test_it_expires_links_six_months_after_creation_once(shop, other_shop):
    """R9, AU-2: the boundary is the minute; the second run changes nothing."""
    created = timezone.now() - datetime.timedelta(days=200)
    old = factories.InvitationFactory(shop=shop, created_at=created, status="sent")
    other_old = factories.InvitationFactory(shop=other_shop, created_at=created, status="rated")
    fresh = factories.InvitationFactory(shop=shop, status="sent")
    boundary = old.expires_at
    assert invitations_expire(now=boundary - datetime.timedelta(minutes=1)) == 0
    assert invitations_expire(now=boundary + datetime.timedelta(minutes=1)) == 2
    assert invitations_expire(now=boundary + datetime.timedelta(minutes=1)) == 0
    assert (status_of(old), status_of(other_old), status_of(fresh)) == (
        "expired",
        "expired",
        "sent",
    )


def test_it_erases_invitation_personal_data_after_retention(shop):
    """R11: email and name go 30 days after the link expired or was used; the order id stays."""
    now = timezone.now()
    used_long_ago = factories.InvitationFactory(
        shop=shop, status="rated", used_at=now - datetime.timedelta(days=31)
    )
    used_recently = factories.InvitationFactory(
        shop=shop, status="rated", used_at=now - datetime.timedelta(days=29)
    )
    expired_long_ago = factories.InvitationFactory(
        shop=shop, created_at=now - datetime.timedelta(days=220), status="expired"
    )
    assert invitations_purge_personal_data(now=now) == 2
    assert invitations_purge_personal_data(now=now) == 0
    rows = {i.pk: i for i in Invitation.objects.unscoped().select_related("order")}
    for erased in (used_long_ago, expired_long_ago):
        row = rows[erased.pk]
        assert (row.email, row.first_name, row.last_name) == ("", "", "")
        assert row.personal_data_erased_at is not None
        assert row.order.order_id == erased.order.order_id
    assert rows[used_recently.pk].email == used_recently.email


@pytest.mark.parametrize(
    "command",
    ["send_invitations", "expire_links", "recompute_seals", "purge_personal_data", "run_billing"],
)
def test_it_offers_every_periodic_job_as_a_command_that_can_run_twice(command, shop):
    """DESIGN §4: each job is also a management command, safe to run twice."""
    first, second = StringIO(), StringIO()
    call_command(command, stdout=first)
    call_command(command, stdout=second)
    assert ": " in first.getvalue()
    assert second.getvalue().rsplit(": ", 1)[1].strip() in {"0", "1"}
