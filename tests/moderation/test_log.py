"""The moderation log: append-only and hash-chained, with a verifying command (R19).

It cannot be edited through the application (model, queryset, admin) nor by plain SQL
(Postgres trigger); ``verify_moderation_log`` names the first broken link.
"""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from moderation import log
from moderation.models import AppendOnlyError, ModerationLogEntry
from tests.moderation.factories import log_entry
from tests.platform.test_admin import admin_login

pytestmark = pytest.mark.django_db


def entries():
    return list(ModerationLogEntry.objects.unscoped().order_by("id"))


def test_it_chains_each_entry_to_the_one_before(shop, other_shop):
    """One chain across companies: each entry's prev_hash is the hash before it."""
    first = log_entry(shop, action="publish")
    second = log_entry(other_shop, action="delete", reason="court_order", justification="LG Köln")
    third = log_entry(shop, action="restore", before={"status": "deleted"})
    assert first.prev_hash == log.GENESIS
    assert (second.prev_hash, third.prev_hash) == (first.hash, second.hash)
    assert len({first.hash, second.hash, third.hash}) == 3
    assert log.log_verify().ok and log.log_verify().checked == 3


def test_it_refuses_to_change_or_delete_an_entry_in_the_application(shop):
    entry = log_entry(shop)
    entry.justification = "changed afterwards"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        ModerationLogEntry.objects.unscoped().filter(pk=entry.pk).update(justification="x")
    with pytest.raises(AppendOnlyError):
        ModerationLogEntry.objects.unscoped().filter(pk=entry.pk).delete()
    assert ModerationLogEntry.objects.unscoped().get(pk=entry.pk).justification == ""


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE moderation_moderationlogentry SET justification = 'x'",
        "DELETE FROM moderation_moderationlogentry",
    ],
)
def test_it_refuses_update_and_delete_in_the_database(shop, sql):
    """Raw SQL is refused too: a trigger guards the table on Postgres."""
    log_entry(shop)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    assert len(entries()) == 1


def _tamper(sql: str, params) -> None:
    """What only a database superuser could do: run with triggers switched off."""
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(sql, params)
        finally:
            cursor.execute("SET session_replication_role = origin")


def test_it_reports_the_first_entry_whose_content_was_changed(shop):
    first, second, third = (log_entry(shop, target_id=n) for n in (1, 2, 3))
    _tamper(
        "UPDATE moderation_moderationlogentry SET justification = %s WHERE id = %s",
        ["rewritten history", second.pk],
    )
    report = log.log_verify()
    assert (report.ok, report.broken_at, report.checked) == (False, second.pk, 1)
    assert "content" in report.problem
    with pytest.raises(CommandError, match=f"broken at entry {second.pk}"):
        call_command("verify_moderation_log")


def test_it_reports_a_removed_entry_at_the_link_after_it(shop):
    first, second, third = (log_entry(shop, target_id=n) for n in (1, 2, 3))
    _tamper("DELETE FROM moderation_moderationlogentry WHERE id = %s", [second.pk])
    report = log.log_verify()
    assert (report.broken_at, report.checked) == (third.pk, 1)
    assert "link" in report.problem


def test_it_says_the_chain_is_whole(shop, capsys):
    for n in range(3):
        log_entry(shop, target_id=n, after={"at": "2026-01-01T00:00:00+00:00", "n": n})
    call_command("verify_moderation_log")
    assert "intact: 3 entries" in capsys.readouterr().out


def test_it_lets_nobody_edit_the_log_in_the_admin(client, shop):
    """Not even a superuser: the admin shows the log and offers no change, add or delete."""
    from tests import factories

    entry = log_entry(shop, justification="court order of 1 May")
    root = factories.UserFactory(email="root@platform.example", is_staff=True, is_superuser=True)
    admin_login(client, root)
    change = reverse("admin:moderation_moderationlogentry_change", args=[entry.pk])
    page = client.get(change)
    assert page.status_code == 200 and "court order of 1 May" in page.content.decode()
    assert client.post(change, {"justification": "rewritten"}).status_code == 403
    delete = reverse("admin:moderation_moderationlogentry_delete", args=[entry.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:moderation_moderationlogentry_add")).status_code == 403
    assert ModerationLogEntry.objects.unscoped().get(pk=entry.pk).justification == (
        "court order of 1 May"
    )
