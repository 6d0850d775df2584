"""PHP ``serialize()`` and ``unserialize()`` for the eKomi v3 ``type=serialized`` answers.

Clients call PHP's ``unserialize()`` on our bodies, which rejects a string whose declared length
is off by one byte, so lengths are counted in bytes of the body's encoding (UTF-8 or ISO-8859-1),
never in characters. ``loads`` reads the PHP-serialized ``product_other`` of v2-era clients.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal

_INT_KEY = re.compile(r"-?(?:0|[1-9][0-9]*)")
_INT64 = 2**63


class PHPSerializeError(ValueError):
    pass


def dumps(value: object, *, encoding: str = "utf-8") -> bytes:
    """The bytes PHP's ``serialize()`` would produce for ``value`` in ``encoding``.

    Characters ``encoding`` cannot hold become ``?`` (ISO-8859-1 answers), and string lengths
    are taken after that replacement.
    """
    out: list[bytes] = []
    _dump(value, out, encoding)
    return b"".join(out)


def _string(text: str, encoding: str) -> bytes:
    raw = text.encode(encoding, errors="replace")
    return b's:%d:"%s";' % (len(raw), raw)


def _float(number: float) -> bytes:
    if math.isnan(number):
        return b"d:NAN;"
    if math.isinf(number):
        return b"d:INF;" if number > 0 else b"d:-INF;"
    if number.is_integer() and abs(number) < 1e15:
        return b"d:%d;" % int(number)
    text = repr(number)
    if "e" in text:
        mantissa, exponent = text.split("e")
        mantissa = mantissa if "." in mantissa else mantissa + ".0"
        text = f"{mantissa}E{int(exponent):+d}"
    return b"d:" + text.encode() + b";"


def _key(key: object, encoding: str) -> bytes:
    # PHP turns a canonical decimal string key into an integer key; mirror it.
    if isinstance(key, bool):
        return b"i:%d;" % int(key)
    if isinstance(key, int):
        return b"i:%d;" % key
    text = str(key)
    if _INT_KEY.fullmatch(text) and -_INT64 <= int(text) < _INT64:
        return b"i:%d;" % int(text)
    return _string(text, encoding)


def _dump(value: object, out: list[bytes], encoding: str) -> None:
    if value is None:
        out.append(b"N;")
    elif isinstance(value, bool):
        out.append(b"b:%d;" % int(value))
    elif isinstance(value, int):
        out.append(b"i:%d;" % value)
    elif isinstance(value, float):
        out.append(_float(value))
    elif isinstance(value, str | Decimal):
        out.append(_string(str(value), encoding))
    elif isinstance(value, Mapping):
        _dump_array(list(value.items()), out, encoding)
    elif isinstance(value, list | tuple):
        _dump_array(list(enumerate(value)), out, encoding)
    else:
        raise PHPSerializeError(f"cannot serialize {type(value).__name__}")


def _dump_array(items: list[tuple[object, object]], out: list[bytes], encoding: str) -> None:
    out.append(b"a:%d:{" % len(items))
    for key, item in items:
        out.append(_key(key, encoding))
        _dump(item, out, encoding)
    out.append(b"}")


def loads(data: bytes | str, *, encoding: str = "utf-8") -> object:
    """Read a PHP-serialized scalar or array; arrays with keys 0..n-1 become lists."""
    raw = data.encode(encoding) if isinstance(data, str) else data
    value, end = _Reader(raw, encoding).read(0)
    if end != len(raw):
        raise PHPSerializeError("trailing data")
    return value


class _Reader:
    def __init__(self, raw: bytes, encoding: str) -> None:
        self.raw, self.encoding = raw, encoding

    def _until(self, pos: int, stop: bytes) -> tuple[bytes, int]:
        end = self.raw.find(stop, pos)
        if end < 0:
            raise PHPSerializeError("unexpected end")
        return self.raw[pos:end], end + 1

    def read(self, pos: int) -> tuple[object, int]:
        kind = self.raw[pos : pos + 2]
        if kind == b"N;":
            return None, pos + 2
        readers = {b"b:": self._bool, b"i:": self._int, b"d:": self._double}
        readers |= {b"s:": self._str, b"a:": self._array}
        if kind not in readers:
            raise PHPSerializeError(f"unsupported token at {pos}")
        return readers[kind](pos + 2)

    def _bool(self, pos: int) -> tuple[object, int]:
        text, pos = self._until(pos, b";")
        return text == b"1", pos

    def _int(self, pos: int) -> tuple[object, int]:
        text, pos = self._until(pos, b";")
        return int(text), pos

    def _double(self, pos: int) -> tuple[object, int]:
        text, pos = self._until(pos, b";")
        return float(text.decode().replace("INF", "inf").replace("NAN", "nan")), pos

    def _str(self, pos: int) -> tuple[object, int]:
        length, pos = self._until(pos, b":")
        size = int(length)
        if self.raw[pos : pos + 1] != b'"' or self.raw[pos + 1 + size : pos + 3 + size] != b'";':
            raise PHPSerializeError(f"bad string at {pos}")
        return self.raw[pos + 1 : pos + 1 + size].decode(self.encoding), pos + 3 + size

    def _array(self, pos: int) -> tuple[object, int]:
        count, pos = self._until(pos, b":")
        if self.raw[pos : pos + 1] != b"{":
            raise PHPSerializeError(f"bad array at {pos}")
        pos += 1
        result: dict[object, object] = {}
        for _ in range(int(count)):
            key, pos = self.read(pos)
            result[key], pos = self.read(pos)
        if self.raw[pos : pos + 1] != b"}":
            raise PHPSerializeError(f"bad array end at {pos}")
        if list(result) == list(range(len(result))):
            return list(result.values()), pos + 1
        return result, pos + 1
