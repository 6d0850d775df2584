"""Maintenance notice and measured availability (R46, 004 §3.2)."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from companies.models import Company
from status import selectors, services
from status.models import HealthCheck, MaintenanceWindow
from status.tasks import announce_maintenance, sample_health
from tests import factories
from tests.platform.test_admin import admin_login

pytestmark = pytest.mark.django_db

BERLIN = timezone.get_fixed_timezone(60)  # CET: March 2026 is before the clocks change
NOW = datetime.datetime(2026, 3, 10, 12, 0, tzinfo=BERLIN)


def _window(start, hours, **fields):
    return MaintenanceWindow(
        title=fields.pop("title", "Database upgrade"),
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=hours),
        **fields,
    )


def test_it_refuses_long_maintenance_with_less_than_three_days_notice():
    """R46: longer than three hours needs three days' notice; up to three hours does not."""
    soon = NOW + datetime.timedelta(days=2, hours=23)
    with pytest.raises(ValidationError) as refused:
        services.maintenance_schedule(window=_window(soon, hours=4), now=NOW)
    assert "starts_at" in refused.value.message_dict
    assert not MaintenanceWindow.objects.exists()

    services.maintenance_schedule(window=_window(soon, hours=3), now=NOW)
    services.maintenance_schedule(
        window=_window(NOW + datetime.timedelta(days=3), hours=6), now=NOW
    )
    assert MaintenanceWindow.objects.count() == 2


def test_it_shows_the_refusal_next_to_the_field_in_the_admin(client):
    """R46: the staff form refuses shorter notice and says why at the start field."""
    staff = factories.UserFactory(is_staff=True, is_superuser=True)
    admin_login(client, staff)
    start = timezone.localtime() + datetime.timedelta(days=1)
    response = client.post(
        reverse("admin:status_maintenancewindow_add"),
        {
            "title": "Big upgrade",
            "starts_at_0": f"{start:%Y-%m-%d}",
            "starts_at_1": "10:00:00",
            "ends_at_0": f"{start:%Y-%m-%d}",
            "ends_at_1": "18:00:00",
        },
    )
    assert response.status_code == 200
    assert "three days ahead" in str(response.context["adminform"].form.errors["starts_at"])
    assert not MaintenanceWindow.objects.exists()


def test_it_announces_long_maintenance_to_every_company_once(
    company, owner, other_company, other_owner, django_capture_on_commit_callbacks
):
    """R46: a long window is emailed to all companies (not ended ones) once; moved, again."""
    ended = factories.CompanyFactory(status=Company.Status.ENDED)
    factories.MembershipFactory(company=ended)
    start = NOW + datetime.timedelta(days=4)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        window = services.maintenance_schedule(window=_window(start, hours=5), now=NOW)
    assert len(callbacks) == 1
    assert announce_maintenance(window.pk) == 2
    assert announce_maintenance(window.pk) == 0
    assert sorted(m.to[0] for m in mail.outbox) == sorted([owner.email, other_owner.email])
    assert "14/03/2026 12:00" in mail.outbox[0].body  # Berlin time

    window.starts_at += datetime.timedelta(days=1)
    window.ends_at += datetime.timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=False):
        services.maintenance_schedule(window=window, now=NOW)
    assert announce_maintenance(window.pk) == 2

    short = services.maintenance_schedule(window=_window(start, hours=2), now=NOW)
    assert announce_maintenance(short.pk) == 0  # up to three hours: shown, not emailed


def _samples(start: datetime.datetime, minutes: int, ok: bool = True) -> None:
    HealthCheck.objects.bulk_create(
        HealthCheck(
            checked_at=start + datetime.timedelta(minutes=i),
            ok=ok,
            database="ok" if ok else "down",
            redis="ok",
        )
        for i in range(minutes)
    )


def test_it_computes_availability_per_month_from_recorded_checks():
    """R46: failed samples count against availability; samples inside maintenance are shown
    apart and not counted; the figure is rounded down so it never overstates."""
    feb = datetime.datetime(2026, 2, 1, tzinfo=BERLIN)
    _samples(feb, 1000)
    _samples(feb + datetime.timedelta(minutes=1000), 7, ok=False)  # a 7-minute outage
    maintenance_start = feb + datetime.timedelta(days=2)
    maintenance_end = maintenance_start + datetime.timedelta(minutes=30)
    MaintenanceWindow.objects.create(
        title="Upgrade", starts_at=maintenance_start, ends_at=maintenance_end
    )
    _samples(maintenance_start, 30, ok=False)  # down, but announced maintenance
    _samples(datetime.datetime(2026, 3, 1, tzinfo=BERLIN), 60)

    months = selectors.availability_by_month(months=2, now=NOW)

    march, february = months
    assert (february.month, february.measured) == (datetime.date(2026, 2, 1), 1037)
    assert (february.failed, february.maintenance) == (7, 30)
    assert february.percent == "99.30"  # 1000 / 1007 = 99.304…, rounded down
    assert february.unmeasured == 28 * 24 * 60 - 1037
    assert (march.measured, march.failed, march.percent) == (60, 0, "100.00")
    assert selectors.availability_total(months).percent == "99.34"  # 1060 / 1067


def test_it_records_the_checks_healthz_runs_once_a_minute(settings):
    """R46: the sampler records what /healthz sees; a second run in the minute adds nothing."""
    assert sample_health() is True
    call_command("sample_health")
    fixed = NOW + datetime.timedelta(seconds=5)
    services.health_sample(now=fixed)
    services.health_sample(now=fixed + datetime.timedelta(seconds=40))  # the same minute
    assert HealthCheck.objects.filter(checked_at=NOW).count() == 1
    latest = HealthCheck.objects.first()
    assert (latest.database, latest.redis, latest.ok) == ("ok", "ok", True)

    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    down = services.health_sample(now=timezone.now() + datetime.timedelta(minutes=5))
    assert (down.redis, down.ok) == ("down", False)


def test_it_shows_maintenance_and_availability_on_the_public_status_page(client):
    """R46: the public page lists planned maintenance and the monthly figures."""
    start = timezone.now() + datetime.timedelta(days=5)
    MaintenanceWindow.objects.create(
        title="Search index rebuild", starts_at=start, ends_at=start + datetime.timedelta(hours=4)
    )
    _samples(timezone.now() - datetime.timedelta(minutes=10), 10)
    page = client.get("/status/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Search index rebuild" in html and "100.00 %" in html and "99.00 %" in html


def test_it_shows_maintenance_notices_to_every_role_in_the_backend(client, company, shop):
    """R46: viewers see planned maintenance on the contract page."""
    viewer = factories.MembershipFactory(company=company, role="viewer").user
    start = timezone.now() + datetime.timedelta(days=5)
    MaintenanceWindow.objects.create(
        title="Search index rebuild", starts_at=start, ends_at=start + datetime.timedelta(hours=4)
    )
    client.force_login(viewer)
    page = client.get(reverse("backend:contract"))
    assert page.status_code == 200 and "Search index rebuild" in page.content.decode()
