"""The company outbox: an email to a company's people goes out once however often its task runs
(STYLE.md 4, ID-4), and a crashed claim is taken over after its lease."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.core.mail import EmailMessage
from django.utils import timezone

from companies.models import CompanyEmail, Role
from companies.outbox import company_addresses, send_company_email
from ekomi import outbox
from tests import factories

pytestmark = pytest.mark.django_db


def _build(company):
    return lambda: EmailMessage("Your invoice", "Hello", to=company_addresses(company.pk))


def test_it_sends_a_company_email_once_however_often_it_runs_id_4(company, owner):
    """ID-4: the second run finds the stamped record and sends nothing."""
    factories.MembershipFactory(company=company, role=Role.VIEWER)

    first = send_company_email(company_id=company.pk, key="invoice:7", build=_build(company))
    second = send_company_email(company_id=company.pk, key="invoice:7", build=_build(company))

    assert (first, second) == ("sent", "already")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [owner.email]  # owners only by default; the viewer is not told
    record = CompanyEmail.objects.for_company(company).get(key="invoice:7")
    assert record.status == CompanyEmail.Status.SENT and record.attempts == 1
    assert mail.outbox[0].extra_headers["Message-ID"] == record.message_id


def test_it_records_nobody_to_tell_and_takes_over_a_stale_claim(company, owner):
    """A company without recipients is skipped; a claim older than the lease is retried."""
    skipped = send_company_email(company_id=company.pk, key="notice:1", build=lambda: None)
    assert skipped == "skipped"
    CompanyEmail.objects.for_company(company).create(
        company=company,
        key="notice:2",
        message_id="<x@example.com>",
        claimed_at=timezone.now() - outbox.LEASE - datetime.timedelta(seconds=1),
    )
    busy = CompanyEmail.objects.for_company(company).create(
        company=company, key="notice:3", message_id="<y@example.com>", claimed_at=timezone.now()
    )

    assert send_company_email(company_id=company.pk, key="notice:2", build=_build(company)) == (
        "sent"
    )
    assert send_company_email(
        company_id=busy.company_id, key="notice:3", build=_build(company)
    ) == ("already")
    assert len(mail.outbox) == 1
