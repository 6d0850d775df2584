"""The record of processing (docs/privacy.md) lists every personal field (R11, R42, R43)."""

from __future__ import annotations

import re
from pathlib import Path

from django.apps import apps
from django.db import models

from tests.apps import OUR_APPS

RECORD = Path(__file__).resolve().parents[2] / "docs" / "privacy.md"
PERSONAL_NAME = re.compile(
    r"email|name|ip|network|phone|address|comment|text|message|body|evidence|file|source"
    r"|report|display"
)
ROW = re.compile(r"^\|\s*`(\w+\.\w+\.\w+)`\s*\|", re.MULTILINE)


def _section(title: str) -> str:
    text = RECORD.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def _named(title: str) -> set[str]:
    return set(ROW.findall(_section(title)))


def _fields() -> dict[str, models.Field]:
    found = {}
    for label in OUR_APPS:
        for model in apps.get_app_config(label).get_models():
            if model._meta.proxy:  # same columns as the concrete model, listed there
                continue
            for field in model._meta.concrete_fields:
                found[f"{label}.{model.__name__}.{field.name}"] = field
    return found


def _personal_by_rule(fields: dict[str, models.Field]) -> set[str]:
    return {
        name
        for name, field in fields.items()
        if isinstance(field, (models.EmailField, models.GenericIPAddressField))
        or PERSONAL_NAME.search(field.name)
    }


def test_it_lists_every_field_that_is_personal_by_rule():
    """R11, R42: a new email, name, IP or free-text field fails until the record lists it."""
    listed = _named("Personal fields") | _named("Not personal")
    missing = _personal_by_rule(_fields()) - listed
    assert not missing, f"add to docs/privacy.md: {sorted(missing)}"


def test_it_names_only_fields_that_exist():
    """R42: the record names no field that was renamed or removed."""
    unknown = (_named("Personal fields") | _named("Not personal")) - set(_fields())
    assert not unknown, f"docs/privacy.md names unknown fields: {sorted(unknown)}"


def test_it_does_not_list_a_field_as_both_personal_and_not_personal():
    """R42: each field has one classification."""
    assert not _named("Personal fields") & _named("Not personal")


def test_it_gives_every_personal_field_a_purpose_audience_and_deletion_rule():
    """R11, R43, GD-2: each personal row says why, who sees it and when it goes, with a rule."""
    rows = [line for line in _section("Personal fields").splitlines() if ROW.match(line)]
    assert len(rows) == len(_named("Personal fields"))
    for line in rows:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        assert len(cells) == 5 and all(cells), line
        assert re.search(r"\b(R\d+|GD-\d)\b", cells[4]), f"no rule id: {line}"


def test_it_records_the_contract_end_rule_as_enforced():
    """R31, GD-2: contracts exist and the daily job enforces the rule; the record says so."""
    personal = _section("Personal fields")
    assert "R31" in personal and "pending" not in personal
    assert "12 months after its last contract" in RECORD.read_text(encoding="utf-8")
