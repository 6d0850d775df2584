"""Reactions to other apps' signals (wired in ``moderation.apps``).

- ``review_screening`` (sent by ``reviews.services.review_decide``): the integrity holds (R23).
- ``post_save`` of a review, company comment or dialogue message that was just decided: record
  which rule of the automatic check fired on which span (R17), the integrity signals and where
  the review came from. The deciding code leaves what it found on the row
  (``moderation_decision`` / ``moderation_check``); it is taken off here, once.
- ``user_logged_in``: the networks a company's users sign in from (AB-3).
"""

from __future__ import annotations

from django.utils import timezone

from moderation import checks, integrity
from moderation.models import ModerationFinding
from reviews.models import Review


def _findings(row, check: checks.TextCheck, *, version: int, **target) -> None:
    rows = [
        ModerationFinding(
            company_id=row.company_id,
            shop_id=row.shop_id,
            version=version,
            rule=finding.rule,
            start=finding.start,
            end=finding.end,
            held=finding.rule in checks.HELD_RULES,
            **target,
        )
        for finding in check.findings
    ]
    if rows:
        # The rows carry their company; the composite foreign keys hold them to it.
        ModerationFinding.objects.unscoped().bulk_create(rows)


def review_saved(sender, instance: Review, created: bool = False, **kwargs) -> None:
    decision = instance.__dict__.pop("moderation_decision", None)
    if decision is None:
        return
    _findings(instance, decision.check, version=instance.version, review=instance)
    screenings = [s for s in decision.screenings if isinstance(s, integrity.Screening)]
    flags = tuple(flag for s in screenings for flag in s.flags)
    held = instance.status == Review.Status.HELD
    integrity.signals_record(review=instance, flags=flags, held=held)
    integrity.signals_record(
        review=instance, flags=integrity.incentive_flags(decision.check), held=held
    )
    now = timezone.now()
    for screening in screenings:
        integrity.sighting_record(review=instance, screening=screening, now=now, created=created)


def comment_saved(sender, instance, **kwargs) -> None:
    check = instance.__dict__.pop("moderation_check", None)
    if check is not None:
        _findings(instance, check, version=instance.version, company_comment=instance)


def message_saved(sender, instance, **kwargs) -> None:
    check = instance.__dict__.pop("moderation_check", None)
    if check is not None:
        _findings(instance, check, version=1, dialogue_message=instance)
