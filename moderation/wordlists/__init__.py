"""The word lists of the automatic check, loaded once per process (see README.md here).

English and German base lists come from the installed ``glin-profanity`` package (LDNOOBW);
the files beside this module adapt them to reviews. Everything is normalised with
:func:`normalize`, the same function the check applies to the words of a text, so a list entry
and a word in a review compare equal exactly when they are the same word.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

HERE = Path(__file__).resolve().parent
BASE_LANGUAGES = ("english", "german")

# Leetspeak: the characters people put in place of letters to slip past a filter.
LEET = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "@": "a",
        "$": "s",
        "!": "i",
        "|": "i",
        "€": "e",
    }
)
UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})
# A word: letters, digits and the characters leetspeak and masks use.
WORD = re.compile(r"[\w@$!|*€]+")
_STRETCH = re.compile(r"(.)\1{2,}")


def normalize(word: str) -> str:
    """Case, umlauts (ä → ae; ß → ss via casefold) and leetspeak folded away."""
    folded = unicodedata.normalize("NFKC", word).casefold().translate(UMLAUTS)
    return folded.translate(LEET)


def unstretched(word: str) -> tuple[str, ...]:
    """``fuuuuck`` → ``fuuck`` and ``fuck``: runs of three or more letters, shortened."""
    if not _STRETCH.search(word):
        return (word,)
    return (word, _STRETCH.sub(r"\1\1", word), _STRETCH.sub(r"\1", word))


def split_words(entry: str) -> tuple[str, ...]:
    return tuple(normalize(part) for part in WORD.findall(entry))


@dataclass(frozen=True)
class WordLists:
    words: frozenset[str]  # single normalised words
    phrases: dict[str, tuple[tuple[str, ...], ...]]  # first word -> phrases starting with it
    symbols: tuple[str, ...]  # entries without letters, e.g. the middle-finger emoji
    prefixes: tuple[str, ...]
    suffixes: tuple[str, ...]
    allowed: frozenset[str]


def _read(name: str) -> list[str]:
    lines = (HERE / name).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def base_entries(language: str) -> list[str]:
    """The maintained list of one language, as shipped by glin-profanity."""
    source = files("glin_profanity.data") / "dictionaries" / f"{language}.json"
    data = json.loads(source.read_text(encoding="utf-8"))
    return [word for word in data["words"] if isinstance(word, str) and word.strip()]


@lru_cache(maxsize=1)
def load() -> WordLists:
    exempt = {split_words(entry) for entry in _read("exempt.txt")}
    entries = [entry for language in BASE_LANGUAGES for entry in base_entries(language)]
    entries += _read("insults_de.txt") + _read("insults_en.txt")
    words: set[str] = set()
    phrases: dict[str, set[tuple[str, ...]]] = {}
    symbols: list[str] = []
    for entry in entries:
        parts = split_words(entry)
        if not parts:
            symbols.append(entry.strip())
        elif parts in exempt:
            continue
        elif len(parts) == 1:
            words.add(parts[0])
        else:
            phrases.setdefault(parts[0], set()).add(parts)
    return WordLists(
        words=frozenset(words),
        phrases={first: tuple(sorted(found)) for first, found in phrases.items()},
        symbols=tuple(sorted(set(symbols))),
        prefixes=tuple(sorted({normalize(p) for p in _read("prefixes.txt")})),
        suffixes=tuple(sorted({normalize(s) for s in _read("suffixes.txt")})),
        allowed=frozenset(normalize(a) for a in _read("allow.txt")),
    )
