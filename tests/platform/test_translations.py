"""The German catalogue: complete, not fuzzy, compiled, and actually used at runtime."""

from __future__ import annotations

import ast
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

PO_PATH = Path(settings.BASE_DIR) / "locale" / "de" / "LC_MESSAGES" / "django.po"
MO_PATH = PO_PATH.with_suffix(".mo")

PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w*\}")


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgstrs: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)


def _unquote(text: str) -> str:
    # PO strings use C escapes (\n, \", \\), which a Python string literal reads the same way.
    return ast.literal_eval(text.strip())


def _parse_po(path: Path) -> list[Entry]:
    """A tiny PO reader for what makemessages writes: one entry per blank-line separated block.

    Skips the header (empty msgid) and obsolete ``#~`` entries.
    """
    entries = []
    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
        entry, key, fields = Entry(), None, {}
        for line in block.strip().splitlines():
            if line.startswith("#,"):
                entry.flags = {flag.strip() for flag in line[2:].split(",")}
            elif line.startswith("#"):
                continue
            elif line.startswith('"') and key:
                fields[key] += _unquote(line)
            else:
                key, _, value = line.partition(" ")
                fields[key] = _unquote(value)
        if not fields.get("msgid"):
            continue
        entry.msgid = fields["msgid"]
        entry.msgid_plural = fields.get("msgid_plural")
        entry.msgstrs = [v for k, v in sorted(fields.items()) if k.startswith("msgstr")]
        entries.append(entry)
    return entries


def _entries() -> list[Entry]:
    entries = _parse_po(PO_PATH)
    assert len(entries) > 100, "the German catalogue looks empty or unreadable"
    return entries


def test_it_has_no_untranslated_german_entries():
    untranslated = [e.msgid for e in _entries() if not all(e.msgstrs)]
    assert untranslated == [], f"{len(untranslated)} German entries have an empty msgstr"


def test_it_has_no_fuzzy_german_entries():
    # Fuzzy entries are skipped by msgfmt, so the English text would show on German pages.
    fuzzy = [e.msgid for e in _entries() if "fuzzy" in e.flags]
    assert fuzzy == [], f"{len(fuzzy)} German entries are still marked fuzzy"


def test_it_keeps_every_placeholder_in_german():
    broken = []
    for entry in _entries():
        for index, msgstr in enumerate(entry.msgstrs):
            source = entry.msgid_plural if entry.msgid_plural and index else entry.msgid
            if sorted(PLACEHOLDER.findall(source)) != sorted(PLACEHOLDER.findall(msgstr)):
                broken.append(entry.msgid)
    assert broken == []


def test_it_gives_plural_entries_both_german_forms():
    plurals = [e for e in _entries() if e.msgid_plural is not None]
    assert plurals
    assert all(len(e.msgstrs) == 2 for e in plurals)


def test_it_ships_a_mo_compiled_from_the_current_po(tmp_path):
    # msgfmt output is deterministic: a different .mo means compilemessages was forgotten.
    compiled = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "-o", str(compiled), str(PO_PATH)], check=True)
    assert compiled.read_bytes() == MO_PATH.read_bytes(), (
        "locale/de/LC_MESSAGES/django.mo is stale: run "
        "`python manage.py compilemessages -l de --ignore=.venv`"
    )


@pytest.mark.parametrize(
    "english",
    [
        "Choose from 1 to 5 stars.",
        "How do you rate your purchase at this shop overall?",
        "Bought here but got no invitation?",
        "This link has expired",
    ],
)
def test_it_translates_key_public_strings_into_german(english):
    with translation.override("de"):
        german = translation.gettext(english)
    assert german
    assert german != english


@pytest.mark.parametrize(
    ("english", "german"),
    [
        ("very good", "sehr gut"),
        ("good", "gut"),
        ("satisfactory", "befriedigend"),
        ("unsatisfactory", "mangelhaft"),
        ("inadequate", "ungenügend"),
    ],
)
def test_it_uses_german_school_grades_for_the_star_words(english, german):
    with translation.override("de"):
        assert translation.gettext(english) == german


def test_it_translates_plural_star_counts():
    with translation.override("de"):
        one = translation.ngettext("%(stars)s star", "%(stars)s stars", 1) % {"stars": 1}
        five = translation.ngettext("%(stars)s star", "%(stars)s stars", 5) % {"stars": 5}
    assert (one, five) == ("1 Stern", "5 Sterne")
