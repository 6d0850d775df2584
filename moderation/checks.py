"""The automatic check of texts against the review conditions (R17, R18, R22).

A pure function over text, with no models, so ``reviews`` can ask it without importing upwards
(DESIGN.md §4). Its answer never depends on the star rating (R17): callers do not pass it.

Two kinds of rule:

- **clear cases** are starred out with ``***`` and the text is published at once (R18, 004
  §5.5): profanity and insults (English and German lists with leetspeak, see
  ``moderation/wordlists/README.md``), personal data (email addresses, phone numbers, IBANs,
  street addresses; 004 §8.2) and links;
- **unclear cases** hold the text for a moderator and star nothing: threats, possible illegal
  content, incentive wording (004 §6.8.1, also an integrity signal, R23) and self-promotion.

Every finding names its rule and the span ``[start, end)`` of the text as submitted, so the
moderation app can record which rule fired where.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import phonenumbers
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from moderation import wordlists

PUBLISH = "publish"
HOLD = "hold"

PROFANITY = "profanity"
EMAIL = "email"
PHONE = "phone"
IBAN_RULE = "iban"
ADDRESS = "address"
LINK = "link"
THREAT = "threat"
ILLEGAL = "illegal_content"
INCENTIVE = "incentive"
ADVERTISING = "advertising"

STARRED_RULES = frozenset({PROFANITY, EMAIL, PHONE, IBAN_RULE, ADDRESS, LINK})
HELD_RULES = frozenset({THREAT, ILLEGAL, INCENTIVE, ADVERTISING})
RULE_LABELS = {
    PROFANITY: "profanity or insult",
    EMAIL: "email address",
    PHONE: "phone number",
    IBAN_RULE: "bank account (IBAN)",
    ADDRESS: "street address",
    LINK: "link",
    THREAT: "possible threat",
    ILLEGAL: "possible illegal content",
    INCENTIVE: "incentive wording (004 §6.8.1)",
    ADVERTISING: "advertising",
}
STARS = "***"
# Phone numbers are read as written in the platform's markets; "+" numbers parse anywhere.
PHONE_REGIONS = ("DE", "AT", "CH", "GB", "US")


@dataclass(frozen=True)
class Finding:
    rule: str
    start: int
    end: int


@dataclass(frozen=True)
class TextCheck:
    decision: str  # PUBLISH or HOLD
    text: str  # the text to publish, with inadmissible spans replaced by ***
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def starred(self) -> bool:
        return any(f.rule in STARRED_RULES for f in self.findings)


def check_text(text: str) -> TextCheck:
    """Decide on one comment, company comment or dialogue message."""
    if not text or not text.strip():
        return TextCheck(decision=PUBLISH, text=text)
    findings = sorted(
        set(_profanity(text) + _personal_data(text) + _links(text) + _held_phrases(text)),
        key=lambda f: (f.start, f.end, f.rule),
    )
    findings = _without_nested_links(findings)
    spans = [(f.start, f.end) for f in findings if f.rule in STARRED_RULES]
    decision = HOLD if any(f.rule in HELD_RULES for f in findings) else PUBLISH
    return TextCheck(decision=decision, text=obscure(text, spans), findings=tuple(findings))


def obscure(text: str, spans: list[tuple[int, int]]) -> str:
    """Replace each span (overlapping ones merged) with ``***``; the rest stays (R18)."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, position = [], 0
    for start, end in merged:
        out.append(text[position:start])
        out.append(STARS)
        position = end
    out.append(text[position:])
    return "".join(out)


# --- Profanity and insults -------------------------------------------------------------------

_LEADING_JUNK = "!|*"
_TRAILING_JUNK = "!|*"
_SEPARATED = re.compile(r"(?<![\w@$])[\w@$](?:[ ._\-][\w@$]){2,}(?![\w@$])")


def _tokens(text: str) -> list[tuple[int, int, str]]:
    tokens = []
    for match in wordlists.WORD.finditer(text):
        start, end = match.span()
        while start < end and text[start] in _LEADING_JUNK:
            start += 1
        while end > start and text[end - 1] in _TRAILING_JUNK:
            end -= 1
        raw = text[start:end]
        if any(ch.isalpha() for ch in raw):
            tokens.append((start, end, wordlists.normalize(raw)))
    return tokens


@lru_cache(maxsize=1)
def _words_by_length() -> dict[int, tuple[str, ...]]:
    by_length: dict[int, list[str]] = {}
    for word in wordlists.load().words:
        by_length.setdefault(len(word), []).append(word)
    return {length: tuple(words) for length, words in by_length.items()}


def _masked_match(word: str) -> bool:
    """``f*ck``: a mask stands for one letter; at least two letters must be visible."""
    if sum(ch != "*" for ch in word) < 2:
        return False
    pattern = re.compile("".join("." if ch == "*" else re.escape(ch) for ch in word))
    return any(pattern.fullmatch(c) for c in _words_by_length().get(len(word), ()))


def is_bad_word(word: str) -> bool:
    lists = wordlists.load()
    for candidate in wordlists.unstretched(word):
        if candidate in lists.words:
            return True
        if "*" in candidate:
            if _masked_match(candidate):
                return True
            continue
        if candidate in lists.allowed:
            continue
        if candidate.startswith(lists.prefixes) or candidate.endswith(lists.suffixes):
            return True
    return False


def _phrase_end(tokens, index: int) -> int | None:
    for phrase in wordlists.load().phrases.get(tokens[index][2], ()):
        window = tokens[index : index + len(phrase)]
        if tuple(t[2] for t in window) == phrase:
            return window[-1][1]
    return None


def _profanity(text: str) -> list[Finding]:
    tokens = _tokens(text)
    found = []
    for index, (start, end, word) in enumerate(tokens):
        if is_bad_word(word):
            found.append(Finding(PROFANITY, start, end))
        elif (phrase_end := _phrase_end(tokens, index)) is not None:
            found.append(Finding(PROFANITY, start, phrase_end))
    for match in _SEPARATED.finditer(text):
        joined = wordlists.normalize(re.sub(r"[ ._\-]", "", match.group()))
        if is_bad_word(joined):
            found.append(Finding(PROFANITY, *match.span()))
    for symbol in wordlists.load().symbols:
        found += [Finding(PROFANITY, *m.span()) for m in re.finditer(re.escape(symbol), text)]
    return found


# --- Personal data (004 §8.2) ------------------------------------------------------------------

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b", re.IGNORECASE)
# Conservative street patterns: a German street name with its typical ending and a house
# number ("Lindenweg 3a", "Hauptstr. 12"), an English house number with a street ("221 Baker
# Street"). "Platz" and "Ring" are left out: "Parkplatz 3 Minuten entfernt".
_STREET_DE = re.compile(
    r"\b[A-ZÄÖÜ][\wäöüß-]*(?:straße|strasse|str\.|weg|allee|gasse|damm|ufer|chaussee)"
    r"\s+\d{1,4}(?:\s?[a-zA-Z])?\b"
)
_STREET_EN = re.compile(
    r"\b\d{1,5}\s+(?:[A-Z][a-z]+\s+){1,3}"
    r"(?:Street|St\.|Road|Rd\.|Avenue|Ave\.|Lane|Ln\.|Boulevard|Blvd\.|Crescent|Close)(?!\w)"
)


def _phones(text: str) -> list[Finding]:
    found = set()
    for region in PHONE_REGIONS:
        for match in phonenumbers.PhoneNumberMatcher(text, region, phonenumbers.Leniency.VALID):
            found.add(Finding(PHONE, match.start, match.end))
    return list(found)


def _ibans(text: str) -> list[Finding]:
    found = []
    for match in _IBAN.finditer(text):
        candidate = match.group()
        # The pattern may take a word after the number: shorten until the checksum holds.
        while len(candidate.replace(" ", "")) >= 15:
            try:
                IBAN(candidate.upper())
            except SchwiftyException:
                candidate = candidate[:-1].rstrip()
                continue
            found.append(Finding(IBAN_RULE, match.start(), match.start() + len(candidate)))
            break
    return found


def _personal_data(text: str) -> list[Finding]:
    found = [Finding(EMAIL, *m.span()) for m in _EMAIL.finditer(text)]
    ibans = _ibans(text)
    found += ibans
    found += [
        phone
        for phone in _phones(text)
        if not any(i.start <= phone.start and phone.end <= i.end for i in ibans)
    ]
    for pattern in (_STREET_DE, _STREET_EN):
        found += [Finding(ADDRESS, *m.span()) for m in pattern.finditer(text)]
    return found


# --- Links --------------------------------------------------------------------------------------

_TLDS = "com|de|net|org|info|biz|shop|store|online|io|co|eu|at|ch|uk|us|me|tv|app|xyz|ru|nl|fr|it"
_URL = re.compile(
    r"\b(?:https?|ftp)://[^\s<>\"']+|\bjavascript:[^\s<>\"']*|\bwww\.[^\s<>\"']+", re.I
)
_DOMAIN = re.compile(
    rf"\b(?:[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?\.)+(?:{_TLDS})\b(?:/[^\s<>\"']*)?", re.I
)
_TRAILING_PUNCTUATION = ".,;:!?)]}'\""


def _links(text: str) -> list[Finding]:
    found = []
    for pattern in (_URL, _DOMAIN):
        for match in pattern.finditer(text):
            start, end = match.span()
            while end > start and text[end - 1] in _TRAILING_PUNCTUATION:
                link = text[start:end]
                if link[-1] == ")" and link.count("(") >= link.count(")"):
                    break  # "(…)" belongs to the link, as in a Wikipedia URL
                end -= 1
            found.append(Finding(LINK, start, end))
    return found


def _without_nested_links(findings: list[Finding]) -> list[Finding]:
    """A domain inside a URL or an email address is one finding, not two."""
    outer = [f for f in findings if f.rule in (EMAIL, LINK)]

    def nested(link: Finding) -> bool:
        return any(
            o != link and o.start <= link.start and link.end <= o.end and o.end - o.start > 0
            for o in outer
        )

    return [f for f in findings if f.rule != LINK or not nested(f)]


# --- Unclear cases: held for a moderator --------------------------------------------------------

_REVIEW_NOUN = r"(?:review|rating|feedback|bewertung|rezension|sterne)"
_INCENTIVE_NOUN = (
    r"(?:voucher|coupon|gift ?card|discount|refund|cash ?back|free (?:gift|product|item)|"
    r"gutschein|rabatt|geschenk|prämie|praemie|gutschrift|geld zurück|\d+ ?(?:%|€|eur|euro))"
)
_FOR = r"(?:for|in exchange for|in return for|für|fuer|gegen)"
_SAME_SENTENCE = r"[^.!?\n]"
_HELD_PATTERNS: tuple[tuple[str, re.Pattern], ...] = tuple(
    (rule, re.compile(pattern, re.IGNORECASE))
    for rule, pattern in (
        # Threats against people or property (English, German).
        (
            THREAT,
            r"\b(?:i|we)(?:'ll| will|'m going to| am going to|'re going to| are going to| gonna)"
            r"\s+(?:kill|murder|shoot|stab|hurt|beat up|burn down|blow up|find)\b",
        ),
        (THREAT, r"\b(?:kill|murder|shoot|stab)\s+(?:you|him|her|them|the owner|your)\b"),
        (THREAT, r"\byou(?:'re| are) (?:dead|going to die)\b"),
        (
            THREAT,
            r"\b(?:i|we) know where you live\b|\bich wei(?:ß|ss), wo (?:du wohnst|ihr wohnt)\b",
        ),
        (
            THREAT,
            r"\b(?:ich|wir)\s+(?:werde|werden|will|wollen)?\s*(?:dich|euch|sie|ihn)\s+"
            r"(?:umbringen|töten|abstechen|erschießen|erschiessen|kaltmachen|abfackeln)\b",
        ),
        (THREAT, r"\bbringe? (?:dich|euch|ihn) um\b|\b(?:du bist|ihr seid) tot\b"),
        (
            THREAT,
            r"\b(?:euren?|deinen?|ihren?|den)\s+(?:laden|shop|geschäft|lager)\s+"
            r"(?:abfackeln|anzünden|in die luft jagen)\b",
        ),
        # Possibly illegal: unconstitutional slogans and symbols (StGB §86a), sexual violence,
        # abuse material. Held, never starred: a moderator decides (004 §5.3).
        (ILLEGAL, r"\bsieg\s+heil\b|\bheil\s+hitler\b|\bhakenkreuz\w*|\bswastikas?\b"),
        (ILLEGAL, r"\b(?:juden|ausländer|auslaender)\s+raus\b"),
        (ILLEGAL, r"\b(?:date ?)?rap(?:e|ed|es|ing|ist|ists)\b|\bvergewaltig\w*"),
        (ILLEGAL, r"\bkinderporn\w*|\bchild ?porn\w*|\bpthc\b|\bjail ?bait\b"),
        # Benefits for a review (004 §6.8.1): held and flagged to staff (R23).
        (
            INCENTIVE,
            rf"\b{_INCENTIVE_NOUN}\b{_SAME_SENTENCE}{{0,50}}?\b{_FOR}\b"
            rf"{_SAME_SENTENCE}{{0,30}}?{_REVIEW_NOUN}",
        ),
        (
            INCENTIVE,
            rf"\b{_FOR}\b{_SAME_SENTENCE}{{0,30}}?{_REVIEW_NOUN}\w*\b"
            rf"{_SAME_SENTENCE}{{0,50}}?\b{_INCENTIVE_NOUN}",
        ),
        (
            INCENTIVE,
            rf"\bpaid (?:me )?(?:to|for) (?:write |leave |give )?(?:a |an |my |this )?"
            rf"(?:\w+ )?{_REVIEW_NOUN}",
        ),
        # Self-promotion.
        (
            ADVERTISING,
            r"\b(?:follow|subscribe to|visit|check out)\s+(?:me|my (?:channel|page|shop|store|"
            r"blog|instagram|youtube|tiktok))\b",
        ),
        (
            ADVERTISING,
            r"\b(?:besucht|folgt|abonniert)\s+(?:mich|meinen? (?:kanal|shop|blog|instagram|"
            r"youtube|tiktok))\b",
        ),
        (ADVERTISING, r"\b(?:referral|empfehlungs|einladungs)[- ]?(?:code|link)\b"),
    )
)


def _held_phrases(text: str) -> list[Finding]:
    return [
        Finding(rule, *match.span())
        for rule, pattern in _HELD_PATTERNS
        for match in pattern.finditer(text)
    ]
