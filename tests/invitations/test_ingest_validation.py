"""The bulk order check decides exactly as ``OrderSerializer`` and email-validator do (IN-1, IN-4).

``orders_from_plain_payload`` checks plain orders without DRF's per-field machinery and hands
everything else to the serializer; ``normalize_email`` checks a plain local part itself and the
domain once. Both are shortcuts, so these tests hold them to the definitions they shortcut: on
every input they accept, the result is the serializer's (or email-validator's) to the letter.
"""

from __future__ import annotations

import datetime
import unicodedata

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from invitations.ingest import normalize_email
from invitations.serializers import OrderSerializer, orders_from_plain_payload

PROPERTY = settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def serializer_decision(payload: list):
    """What the API did before the shortcut: the inputs, or None when it answered 400."""
    serializer = OrderSerializer(data=payload, many=True)
    if not serializer.is_valid():
        return None
    return [OrderSerializer.as_input(values) for values in serializer.validated_data]


def email_validator_decision(address: str) -> str:
    """The canonical form as email-validator alone gives it (IN-4), or its reason."""
    try:
        info = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        return f"refused: {exc}"
    return f"{info.local_part}@{info.ascii_domain}"


def shortcut_decision(address: str) -> str:
    try:
        return normalize_email(address)
    except ValueError as exc:
        return f"refused: {exc}"


PLAIN_ORDER = {
    "order_id": "A-1001",
    "email": "kim@example.net",
    "first_name": "Kim",
    "last_name": "Buyer",
    "locale": "de",
    "order_date": "2024-05-01T10:00:00Z",
    "delivery_date": "2024-05-03T08:30:00+02:00",
    "consent": False,
    "invite": True,
    "items": [
        {
            "product_id": "TR-2",
            "name": "Trail Runner 2",
            "brand": "Acme",
            "gtin": "4006381333931",
            "mpn": "TR2",
            "sku": "TR-2-42",
            "image_url": "https://shop.example/tr2.png",
            "link": "https://shop.example/tr2",
        }
    ],
}


@pytest.mark.parametrize(
    "order",
    [
        PLAIN_ORDER,
        {"order_id": "B-1", "email": "kim@example.net", "order_date": "2024-05-01T10:00:00Z"},
        # Trimmed like CharField; blanks where blanks are allowed; a naive time in Berlin time.
        {
            "order_id": "  C-1\t",
            "email": " Müller@Bücher.DE ",
            "first_name": "   ",
            "order_date": "2024-05-01T10:00:00",
            "delivery_date": None,
            "items": [{"product_id": " P ", "gtin": "", "image_url": " "}],
        },
        {
            "order_id": "D-1",
            "email": unicodedata.normalize("NFD", "josé@exämple.org"),
            "order_date": "2024-05-01",
            "items": [],
        },
    ],
)
def test_it_reads_plain_orders_exactly_as_the_serializer_does(order):
    """IN-1, IN-4: same order id, address, times (zone included), flags and items."""
    decided = orders_from_plain_payload([order])
    assert decided is not None
    assert decided == serializer_decision([order])
    assert [o.ordered_at.tzinfo for o in decided] == [
        o.ordered_at.tzinfo for o in serializer_decision([order])
    ]


@pytest.mark.parametrize(
    "change",
    [
        {"order_id": 1001},  # the serializer turns a number into "1001"
        {"consent": "false"},  # and accepts "false", 0, "no" for a flag
        {"invite": 1},
        {"email": "not-an-email"},
        {"order_id": ""},
        {"order_id": "x" * 256},
        {"first_name": "Kim\x00"},
        {"locale": ""},
        {"locale": "xx"},
        {"order_date": "yesterday"},
        {"order_date": "9999-12-31T23:59:59Z"},
        {"delivery_date": "2020-01-01T00:00:00Z"},
        {"status": "rated"},
        {"items": {"product_id": "P"}},
        {"items": [{"product_id": "P", "gtin": "12"}]},
        {"items": [{"product_id": "P", "link": "javascript:alert(1)"}]},
        {"items": [{"product_id": "P"}] * 201},
        {"items": [{"product_id": "P", "price": 3}]},
    ],
)
def test_it_leaves_every_unusual_or_wrong_order_to_the_serializer(change):
    """IN-1, TI-2: the shortcut never decides these; the serializer accepts or explains them."""
    assert orders_from_plain_payload([PLAIN_ORDER, {**PLAIN_ORDER, **change}]) is None


# Generated orders: a plausible order, then often one field swapped for an odd or wrong value,
# so that both the shortcut's acceptances and its hand-overs are exercised.
ODD = st.one_of(
    st.sampled_from(
        ["", " ", "x" * 256, "a\x00b", "\ud800", "\u202e", "true", "yesterday", "2024-05-01"]
    ),
    st.text(max_size=12),
    st.integers(-5, 5),
    st.floats(allow_nan=False, allow_infinity=False),
    st.none(),
    st.booleans(),
    st.lists(st.integers(), max_size=1),
    st.fixed_dictionaries({"product_id": st.just("P")}),
)
NAMES = st.text(st.characters(codec="utf-8"), max_size=20)
DATES = st.one_of(
    st.sampled_from(
        [
            "2024-05-01T10:00:00Z",
            "2024-05-01T10:00:00+02:00",
            "2024-05-01T10:00:00.123456-05:30",
            "2024-05-01T10:00:00",
            "2024-03-31T02:30:00",  # does not exist in Berlin time
            "2024-10-27T02:30:00",  # exists twice in Berlin time
            "2024-05-01",
            "2024-05-01 10:00",
            "1989-12-31T23:59:59Z",
            "2100-01-01T00:00:00Z",
        ]
    ),
    st.datetimes(
        min_value=datetime.datetime(1985, 1, 1),
        max_value=datetime.datetime(2105, 1, 1),
        timezones=st.sampled_from([None, datetime.UTC]),
    ).map(lambda moment: moment.isoformat()),
)
EMAILS = st.one_of(
    st.emails(),
    st.sampled_from(
        [
            "kim@example.net",
            " Kim@Example.NET ",
            "müller@bücher.de",
            "info@shop.example",
            '"kim"@example.net',
            "Kim <kim@example.net>",
            "kim@localhost",
            "kim@[192.0.2.1]",
        ]
    ),
)
ITEMS = st.fixed_dictionaries(
    {"product_id": NAMES},
    optional={
        "name": NAMES,
        "brand": NAMES,
        "gtin": st.sampled_from(
            ["", "12345678", "4006381333931", "12", "123456789012345", " 12345678 ", "1234567８"]
        ),
        "mpn": NAMES,
        "sku": NAMES,
        "image_url": st.sampled_from(
            ["", " ", "https://x.example/p.png", "not a url", "ftp://x.example/z", "http://l"]
        ),
        "link": st.sampled_from(["https://shop.example/p", "//x", "https://bücher.de/ü?q=1#f"]),
    },
)
PLAUSIBLE = st.fixed_dictionaries(
    {"order_id": NAMES, "email": EMAILS, "order_date": DATES},
    optional={
        "first_name": NAMES,
        "last_name": NAMES,
        "locale": st.sampled_from(["en", "de"]),
        "delivery_date": st.one_of(st.none(), DATES),
        "consent": st.booleans(),
        "invite": st.booleans(),
        "items": st.lists(ITEMS, max_size=3),
    },
)
FIELDS = sorted(OrderSerializer._declared_fields) + ["company"]


@st.composite
def orders(draw):
    order = draw(PLAUSIBLE)
    if draw(st.booleans()):
        order[draw(st.sampled_from(FIELDS))] = draw(ODD)
    return order


@PROPERTY
@given(order=orders())
def test_it_never_accepts_what_the_serializer_would_refuse_or_read_differently(order):
    """IN-1: generated orders, right and wrong: whatever the shortcut accepts, the serializer
    accepts too, with equal values."""
    decided = orders_from_plain_payload([order])
    if decided is not None:
        assert decided == serializer_decision([order])


@pytest.mark.parametrize(
    "address",
    [
        "kim@example.net",
        " Kim@Example.NET ",
        "KIM@BÜCHER.DE",
        "müller@bücher.de",
        unicodedata.normalize("NFD", "Müller@Bücher.DE"),
        "kim@xn--bcher-kva.de",
        "Postmaster@Example.net",
        "INFO@example.net",
        '"kim"@example.net',
        '"k im"@example.net',
        "Kim <kim@example.net>",
        "kim@example.net>",
        "kim@@example.net",
        "kim@",
        "@example.net",
        "kim",
        "kim＠example.net",
        "a..b@example.net",
        ".kim@example.net",
        "kim@example..net",
        "kim@-example.net",
        "kim@localhost",
        "kim@example",
        "kim@[192.0.2.1]",
        "kim@example.net.",
        "kim@ex ample.net",
        "kim@exämple.net\u200d",
        "kim@\u202eexample.net",
        "k" * 64 + "@example.net",
        "k" * 65 + "@example.net",
        "k" * 240 + "@example.net",
        "k" * 242 + "@example.net",
        "k" * 230 + "@" + "bücher" * 3 + ".de",
        "k@" + ".".join(["a" * 63] * 4) + ".de",
    ],
)
def test_it_normalizes_each_address_exactly_as_email_validator(address):
    """IN-4: the same canonical form, or the same reason to refuse, as email-validator alone."""
    assert shortcut_decision(address) == email_validator_decision(address)


@PROPERTY
@given(
    address=st.one_of(
        st.emails(),
        st.text(alphabet='aZ0.-_+@ü<>" ÄßＡ\u0301', max_size=30),
        st.builds(
            "{}@{}".format,
            st.text(alphabet="ab.-+!#Aé", min_size=0, max_size=70),
            st.text(alphabet="ab.-xnü0[]", min_size=0, max_size=190),
        ),
    )
)
def test_it_never_normalizes_an_address_differently_from_email_validator(address):
    """IN-4: generated addresses, valid and not."""
    assert shortcut_decision(address) == email_validator_decision(address)
