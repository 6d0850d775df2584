"""Safe text for the public surfaces: JSON inside scripts, text inside XML and SVG (AU-8, IN-5)."""

from __future__ import annotations

import json
import re
from typing import Any

# Characters XML 1.0 does not allow at all (escaping cannot help): C0 controls but tab, LF, CR,
# lone surrogates, U+FFFE and U+FFFF. A stray one would make a whole feed or seal invalid.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SCRIPT_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


def json_for_script(value: Any) -> str:
    """JSON that stays data inside ``<script>`` or a JavaScript expression.

    ``ensure_ascii`` escapes U+2028/U+2029; ``<``, ``>`` and ``&`` become ``\\u003C`` etc., so a
    review text can close neither the script element nor an HTML comment.
    """
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"), sort_keys=True)
    return text.translate(_SCRIPT_ESCAPES)


def xml_text(value: str) -> str:
    """``value`` without the characters XML 1.0 forbids (escaping is the serializer's job)."""
    return _NOT_XML.sub("", value)


def shorten(value: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a word boundary with an ellipsis."""
    value = " ".join(value.split())
    if len(value) <= limit:
        return value
    cut = value[: limit - 1].rsplit(" ", 1)[0] or value[: limit - 1]
    return cut.rstrip(" ,.;:") + "…"
