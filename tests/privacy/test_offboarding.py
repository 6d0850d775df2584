"""GD-4: after retention, an offboarded company leaves no personal data behind: not in a
``pg_dump`` of the database, not in Redis, not in the logs (R31, R42, R43)."""

from __future__ import annotations

import datetime
import logging
import subprocess

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from billing.models import Contract, Invoice
from companies.models import Company, Shop
from companies.tenancy import TenantModel
from moderation import log
from moderation.integrity import network_hash
from moderation.models import ModerationLogEntry
from moderation.retention import personal_data_purge
from moderation.services import review_obscure
from privacy import services as privacy_services
from tests import factories
from tests.moderation import factories as mf

MARK = "zqxoffb"
IP = "203.0.113.177"
MARKERS = (MARK, IP)


def _pg_dump() -> str:
    db = connection.settings_dict
    command = ["/usr/bin/pg_dump", "--no-owner", "--dbname", db["NAME"]]
    for flag, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if db.get(key):
            command += [flag, str(db[key])]
    env = {"PGPASSWORD": db.get("PASSWORD") or "", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=True)  # noqa: S603
    assert "CREATE TABLE" in result.stdout
    return result.stdout


def _redis_dump() -> str:
    client = cache._cache.get_client(None, write=False)
    parts = []
    for key in client.scan_iter(count=1000):
        parts.append(repr(key))
        kind = client.type(key)
        if kind == b"string":
            parts.append(repr(client.get(key)))
        elif kind == b"list":
            parts.append(repr(client.lrange(key, 0, -1)))
        elif kind == b"hash":
            parts.append(repr(client.hgetall(key)))
        elif kind == b"set":
            parts.append(repr(client.smembers(key)))
        elif kind == b"zset":
            parts.append(repr(client.zrange(key, 0, -1)))
    return "\n".join(parts)


def _company_with_markers(tmp_path):
    company = factories.CompanyFactory(name="Offboard GmbH")
    shop = factories.ShopFactory(company=company, name="Offboard shop", slug="offboard-shop")
    owner = factories.MembershipFactory(
        company=company,
        user__email=f"{MARK}-owner@example.test",
        user__first_name=f"{MARK}first",
        user__last_name=f"{MARK}last",
    ).user
    invitation = factories.InvitationFactory(
        shop=shop,
        email=f"{MARK}-eve@example.test",
        first_name=f"{MARK}Eve",
        last_name=f"{MARK}Evelast",
        status="rated",
        used_at=timezone.now(),
    )
    review = factories.ReviewFactory(
        shop=shop,
        invitation=invitation,
        comment=f"{MARK} says the parcel was late",
        display_name=f"{MARK} E.",
        dialogue_email=f"{MARK}-dialogue@example.test",
    )
    factories.ReviewMediaFactory(shop=shop, review=review)
    message = mf.DialogueMessageFactory(
        shop=shop, thread__review=review, text=f"{MARK} message", sender="evaluator"
    )
    mf.ComplaintFactory(
        shop=shop,
        review=review,
        complainant_email=f"{MARK}-complainant@example.test",
        statement=f"{MARK} statement",
        explanation=f"{MARK} explanation",
    )
    factories.LinkRequestFactory(
        shop=shop, email=f"{MARK}-request@example.test", message=f"{MARK} request text"
    )
    mf.NetworkSightingFactory(shop=shop, review=review, network_hash=network_hash(IP))
    # The log names the company user and snapshots the review (digests only, R42).
    log.log_append(
        company_id=company.pk,
        shop_id=shop.pk,
        actor=owner,
        action=ModerationLogEntry.Action.PUBLISH,
        target_type="review",
        target_id=review.pk,
        before={"comment": review.comment, "display_name": review.display_name},
    )
    staff = factories.UserFactory(email="moderator-gd4@example.test", is_staff=True)
    review_obscure(review_id=review.pk, actor=staff, start=0, end=len(MARK))
    export = privacy_services.export_request(company=company, user=owner, kind="company")
    privacy_services.export_build(export_id=export.pk)
    factories.ContractFactory(
        company=company,
        status=Contract.Status.ENDED,
        starts_on=datetime.date(2024, 1, 1),
        ends_on=datetime.date(2024, 12, 31),
        current_period_start=datetime.date(2024, 1, 1),
        current_period_end=datetime.date(2024, 12, 31),
    )
    Company.objects.filter(pk=company.pk).update(status=Company.Status.ENDED)
    assert message.pk
    return company, shop


@pytest.mark.django_db(transaction=True)
def test_it_leaves_no_personal_data_after_offboarding(client, tmp_path, caplog, other_shop):
    """GD-4: markers in every personal field; after retention + offboarding a pg_dump, Redis
    and the captured logs hold none of them; B is untouched; the log chain still verifies."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    caplog.set_level(logging.INFO)
    other_review = factories.ReviewFactory(shop=other_shop, comment="BETA-B stays")
    company, shop = _company_with_markers(tmp_path)
    # A public page renders the review into the Redis cache before the contract ended.
    Company.objects.filter(pk=company.pk).update(status=Company.Status.ACTIVE)
    assert client.get(f"/c/{shop.slug}/").status_code == 200
    Company.objects.filter(pk=company.pk).update(status=Company.Status.ENDED)
    assert MARK in _pg_dump()  # the markers were there to be found

    counts = personal_data_purge(timezone.now())
    assert counts["ended_companies"] == 1
    assert personal_data_purge(timezone.now())["ended_companies"] == 0

    dump, redis_dump = _pg_dump().lower(), _redis_dump().lower()
    for marker in MARKERS:
        assert marker not in dump, marker
        assert marker not in redis_dump, marker
        assert marker not in caplog.text.lower(), marker
    for model in TenantModel.__subclasses__():
        if model._meta.label in {"billing.Contract", "moderation.ModerationLogEntry"}:
            continue
        if issubclass(model, TenantModel) and not model._meta.abstract:
            kept = model.objects.unscoped().filter(company=company)
            if model is Shop:
                kept = kept.exclude(pk=shop.pk)  # named by the log: a stub without personal data
            assert not kept.exists(), model._meta.label
    assert Invoice.objects.unscoped().filter(company=company).count() == 0
    assert log.log_verify().ok
    assert other_review.__class__.objects.unscoped().filter(pk=other_review.pk).exists()
    assert not list((tmp_path / "private").rglob("*.zip"))
