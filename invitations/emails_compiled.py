"""The platform's email templates compiled once per send batch: rendered with markers in place
of the values, then filled in per email without running the template engine again.

A batch renders the same few templates for every recipient; only the values differ (names, order,
dates, links). A template is rendered once per *shape* (template, language, which values are
empty, the values that are not strings) with a marker in place of every non-empty string; the
output, split at the markers, is literal text and slots, each slot knowing whether the template
escaped its value. Filling the slots gives what rendering would have given, as long as the
template only prints values and tests whether they are empty, which ours do.

What would break that is caught before a shape is used: the template is rendered with a second,
different set of markers and both splits must agree, and a marker must come out either as it
went in or HTML-escaped. A filter (``|upper``, ``|linebreaks``, ``|truncatechars``), a length or
a line break applied to a value changes or cuts its marker, or differs between the two sets. The
first email of each shape is also rendered in full and compared. A template that fails any of
this is simply rendered in full for every email of the batch.
"""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from django.template import TemplateDoesNotExist, TemplateSyntaxError
from django.template.loader import render_to_string
from django.urls import NoReverseMatch
from django.utils import translation
from jinja2 import Template as SandboxedTemplate

logger = logging.getLogger(__name__)

# Private-use characters: never produced by a template, so they delimit a marker unambiguously.
_OPEN, _CLOSE = "\ue000", "\ue001"
# Inside each marker: what an escape, a line-break filter, quoting or a case change would alter.
_PROBE = "<'\"&\n"
_PADS = ("", "aZ-09")  # the two marker sets differ in length and content
_MARKER = re.compile(f"{_OPEN}(\\d+)([^{_OPEN}{_CLOSE}]*){_CLOSE}")
_MARKERS_REFUSED = (
    TemplateDoesNotExist,
    TemplateSyntaxError,
    NoReverseMatch,
    LookupError,
    TypeError,
    ValueError,
)


@dataclass(frozen=True)
class _Slot:
    name: str
    escaped: bool


@dataclass(frozen=True)
class CompiledTemplate:
    """Literal text and slots, in order."""

    parts: tuple[str | _Slot, ...]

    def fill(self, context: dict[str, Any]) -> str:
        out, escaped = [], {}
        for part in self.parts:
            if type(part) is str:
                out.append(part)
            elif not part.escaped:
                out.append(context[part.name])
            else:
                if part.name not in escaped:  # a link or the shop's name appears several times
                    escaped[part.name] = html.escape(context[part.name])
                out.append(escaped[part.name])
        return "".join(out)


@dataclass
class CompiledTemplates:
    """One batch's compiled templates; ``render`` has ``render_to_string``'s signature."""

    compiled: dict[tuple, CompiledTemplate | None] = field(default_factory=dict)
    sandboxed: dict[str, SandboxedTemplate] = field(default_factory=dict)

    def render(self, name: str, context: dict[str, Any]) -> str:
        key = _shape(name, context)
        if key is None:
            return render_to_string(name, context)
        if key in self.compiled:
            template = self.compiled[key]
            return render_to_string(name, context) if template is None else template.fill(context)
        try:
            template = compile_template(name, context)
        except _MARKERS_REFUSED:  # a tag that needs a real value (a URL, a template name)
            template = None
        rendered = render_to_string(name, context)
        if template is not None and template.fill(context) != rendered:
            logger.warning("email template %s: compiled output differs; rendering in full", name)
            template = None
        self.compiled[key] = template
        return rendered

    def sandboxed_template(self, source: str, compile_source) -> SandboxedTemplate:
        """A shop override's compiled Jinja template, compiled once per batch."""
        template = self.sandboxed.get(source)
        if template is None:
            template = self.sandboxed[source] = compile_source(source)
        return template


def _shape(name: str, context: dict[str, Any]) -> tuple | None:
    """What a compiled template depends on besides the string values; None if unhashable."""
    items = []
    for key, value in context.items():
        if type(value) is str:
            items.append((key, bool(value)))
        else:
            items.append((key, type(value), value))
    # In the order the caller built the context: the same code path, the same order.
    key = (name, translation.get_language(), tuple(items))
    try:
        hash(key)
    except TypeError:
        return None
    return key


def compile_template(name: str, context: dict[str, Any]) -> CompiledTemplate | None:
    """The template for this context's shape, or None if it does more than print values."""
    slots = [key for key, value in context.items() if type(value) is str and value]
    splits = []
    for pad in _PADS:
        markers = {key: f"{_OPEN}{index}{_PROBE}{pad}{_CLOSE}" for index, key in enumerate(slots)}
        split = _split(render_to_string(name, {**context, **markers}), slots, pad)
        if split is None:
            return None
        splits.append(split)
    if any(split != splits[0] for split in splits):
        return None
    return CompiledTemplate(parts=splits[0])


def _split(output: str, slots: list[str], pad: str) -> tuple[str | _Slot, ...] | None:
    raw = _PROBE + pad
    escaped = html.escape(raw)
    parts: list[str | _Slot] = []
    position = 0
    for match in _MARKER.finditer(output):
        index, inside = int(match.group(1)), match.group(2)
        if index >= len(slots) or inside not in (raw, escaped) or raw == escaped:
            return None
        parts.append(output[position : match.start()])
        parts.append(_Slot(slots[index], escaped=inside == escaped))
        position = match.end()
    parts.append(output[position:])
    literal = "".join(part for part in parts if type(part) is str)
    if _OPEN in literal or _CLOSE in literal:
        return None  # a marker was cut, reordered or transformed
    return tuple(part for part in parts if part != "")
