"""The rating POST's quick path accepts exactly what the rating form accepts (R12, R13, IN-2).

``quick_submission`` cleans the POST with the form's own field objects instead of building the
form; whatever it answers must be what ``RatingForm`` answers for the same data: the same
submission when the form is valid, None (the form then runs and explains) when it is not.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict
from hypothesis import given, settings
from hypothesis import strategies as st

from reviews.forms import RatingForm, quick_submission


@dataclass(frozen=True)
class Product:
    pk: int
    name: str


PRODUCTS = [Product(7, "Trail shoe"), Product(9, "Socks")]
STARS = st.sampled_from(
    ["", "1", "2", "3", "4", "5", "0", "6", "05", " 4", "4 ", "4.0", "five", "\x00", "٣"]
)
TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "  ", " Fine. ", "a\x00b", "x" * 5000, "x" * 5001, " " + "x" * 5000]),
)
NAME = st.one_of(st.text(max_size=70), st.sampled_from(["x" * 60, "x" * 61, " " + "x" * 60]))
EMAIL = st.one_of(
    st.emails(),
    st.sampled_from(
        ["", " kim@example.org ", "not-an-email", "a@b", "kim@exämple.org", "x" * 320 + "@a.de"]
    ),
)
FIELDS = {
    "merchant_rating": STARS,
    "merchant_comment": TEXT,
    "display_name": NAME,
    "dialogue_email": EMAIL,
    "product_7_rating": STARS,
    "product_7_comment": TEXT,
    "product_9_rating": STARS,
    "product_9_comment": TEXT,
    "product_8_rating": STARS,  # not in the order: both ignore it
}


@st.composite
def posts(draw) -> QueryDict:
    data = QueryDict(mutable=True)
    for name, values in FIELDS.items():
        sent = draw(st.lists(values, max_size=2))  # absent, once, or twice (the last counts)
        if sent:
            data.setlist(name, sent)
    return data


def both(data, files=None):
    files = files or MultiValueDict()
    form = RatingForm(data, files, products=PRODUCTS)
    return (form.submission() if form.is_valid() else None), quick_submission(
        data, files, products=PRODUCTS
    )


@settings(max_examples=400, deadline=None)
@given(posts())
def test_it_answers_what_the_rating_form_answers_for_any_post_r12_in_2(data):
    """R12, R13, IN-2: for any POST, the quick path's submission is the form's, or None
    exactly when the form refuses it."""
    from_form, quick = both(data)
    assert quick == from_form


def test_it_takes_the_common_submission_itself_r13():
    """R13: a plain valid POST (stars, comments, a name, an email) is taken by the quick path,
    with only the rated products."""
    data = QueryDict(
        "merchant_rating=4&merchant_comment=+Fast.+&display_name=Kim&dialogue_email="
        "kim%40example.org&product_7_rating=5&product_7_comment=Good&product_9_rating="
        "&csrfmiddlewaretoken=x"
    )
    from_form, quick = both(data)
    assert quick is not None and quick == from_form
    assert quick.merchant.comment == "Fast." and list(quick.products) == [7]


def test_it_leaves_a_post_with_files_to_the_form_r12():
    """R12: photos and videos are checked by the form alone."""
    data = QueryDict("merchant_rating=4")
    photo = SimpleUploadedFile("a.jpg", b"not really a photo", content_type="image/jpeg")
    _, quick = both(data, MultiValueDict({"photos": [photo]}))
    assert quick is None
