"""compat.php: PHP serialize() byte-exact, checked against an independent unserializer."""

from __future__ import annotations

import pytest

from compat import php
from tests.compat.conftest import unserialize


def test_it_counts_string_lengths_in_utf8_bytes():
    """A multi-byte name must declare its byte length or PHP's unserialize() fails."""
    assert php.dumps("Müller ✓") == 's:11:"Müller ✓";'.encode()


def test_it_counts_iso_lengths_after_replacing_unmappable_characters():
    assert php.dumps("Müller ✓", encoding="iso-8859-1") == b's:8:"M\xfcller ?";'


def test_it_serializes_like_php_for_scalars_and_arrays():
    assert php.dumps({"done": 1, "link": "x", "ok": True, "none": None}) == (
        b'a:4:{s:4:"done";i:1;s:4:"link";s:1:"x";s:2:"ok";b:1;s:4:"none";N;}'
    )
    assert php.dumps(["a", 2.5, 3.0]) == b'a:3:{i:0;s:1:"a";i:1;d:2.5;i:2;d:3;}'
    # PHP turns the key "7" into the integer 7, but keeps "07" a string.
    assert php.dumps({"7": 1, "07": 2}) == b'a:2:{i:7;i:1;s:2:"07";i:2;}'


@pytest.mark.parametrize(
    "value",
    [
        {"info": {"account_name": "Müller ✓ GmbH", "fb_count": "3", "active": False}},
        [{"submitted": 1700000000, "review": 'Sehr gut; "top" {}', "rating": 5}],
        {"emoji": "🙂", "empty": "", "neg": -4, "nested": {"a": [1, 2]}},
    ],
)
def test_it_round_trips_through_an_independent_unserializer(value):
    def as_php(v):
        if isinstance(v, dict):
            return {k: as_php(x) for k, x in v.items()}
        if isinstance(v, list):
            return {i: as_php(x) for i, x in enumerate(v)}
        return v

    assert unserialize(php.dumps(value)) == as_php(value)


def test_it_reads_what_it_writes():
    value = {"image_url": "https://x.test/a.png", "product_ids": {"ean": "4006381333931"}}
    assert php.loads(php.dumps(value)) == value
    assert php.loads('a:1:{i:0;s:7:"Müller";}') == ["Müller"]


@pytest.mark.parametrize("raw", ['s:9:"Müller";', "a:1:{i:0;}", 'O:8:"stdClass":0:{}', "i:1;x"])
def test_it_rejects_malformed_input(raw):
    with pytest.raises(php.PHPSerializeError):
        php.loads(raw)
