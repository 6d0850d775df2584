"""The evaluator's rating form: one merchant rating and one per product of the order (R12, R13)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.choices import BaseChoiceIterator
from django.utils.translation import gettext_lazy as _

from reviews import media as media_rules
from reviews.models import Rating
from reviews.services import RatingInput, Submission

MAX_COMMENT = 5000
STAR_CHOICES = [(value, f"{value} – {label}") for value, label in reversed(Rating.choices)]


class _StarChoices(BaseChoiceIterator):
    """``STAR_CHOICES`` as every star field and its widget hold them: one constant, shared.

    Django normalises a choice field's choices when it is built and deep-copies them for every
    form (twice over, field and widget); for the few fixed stars that was most of the rating
    form's set-up on each POST (bench: rating submissions). Choices given as a
    ``BaseChoiceIterator`` are taken as they are, and this one is never copied.
    """

    def __iter__(self):
        return iter(STAR_CHOICES)

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


_STARS = _StarChoices()


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        return [super(MultipleFileField, self).clean(item, initial) for item in files]


def _stars(required: bool, label) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        choices=_STARS,
        coerce=int,
        required=required,
        widget=forms.RadioSelect(attrs={"class": "star-input"}),
        error_messages={"required": _("Choose from 1 to 5 stars.")},
    )


def _product_comment(name) -> forms.CharField:
    return forms.CharField(
        label=_("Comment on %(product)s (optional)") % {"product": name},
        required=False,
        max_length=MAX_COMMENT,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class RatingForm(forms.Form):
    merchant_rating = _stars(True, _("How do you rate your purchase at this shop overall?"))
    merchant_comment = forms.CharField(
        label=_("Your experience"),
        required=False,
        max_length=MAX_COMMENT,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    display_name = forms.CharField(
        label=_("Name shown with your review (optional)"),
        help_text=_("Leave empty to appear as “Verified buyer”."),
        required=False,
        max_length=60,
    )
    dialogue_email = forms.EmailField(
        label=_("Email for questions from the shop (optional)"),
        help_text=_(
            "Only if you want the shop to be able to reply to you privately about this review. "
            "It is never shown publicly and the shop never sees the address itself."
        ),
        required=False,
    )
    photos = MultipleFileField(
        label=_("Photos (optional)"),
        help_text=_(
            "Up to 5 photos, JPEG, PNG or WebP, at most 10 MB each. "
            "Location and camera data are removed."
        ),
        required=False,
        widget=MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
    videos = MultipleFileField(
        label=_("Video (optional)"),
        help_text=_("One MP4 or WebM video, at most 50 MB."),
        required=False,
        widget=MultipleFileInput(attrs={"accept": "video/mp4,video/webm"}),
    )

    def __init__(self, *args, products=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.products = list(products)
        for product in self.products:
            self.fields[f"product_{product.pk}_rating"] = _stars(False, product.name)
            self.fields[f"product_{product.pk}_comment"] = _product_comment(product.name)

    def product_rows(self):
        """(product, rating field, comment field) for the template."""
        return [
            (p, self[f"product_{p.pk}_rating"], self[f"product_{p.pk}_comment"])
            for p in self.products
        ]

    def clean(self):
        cleaned = super().clean()
        try:
            cleaned["media"] = tuple(
                media_rules.clean_uploads(cleaned.get("photos") or [], cleaned.get("videos") or [])
            )
        except media_rules.MediaError as exc:
            self.add_error("photos", str(exc))
        return cleaned

    def submission(self) -> Submission:
        data = self.cleaned_data
        products = {
            p.pk: RatingInput(data[f"product_{p.pk}_rating"], data[f"product_{p.pk}_comment"])
            for p in self.products
            if data.get(f"product_{p.pk}_rating")
        }
        return Submission(
            merchant=RatingInput(data["merchant_rating"], data["merchant_comment"]),
            products=products,
            display_name=data["display_name"],
            dialogue_email=data["dialogue_email"],
            media=data.get("media", ()),
        )


# The fields of one product, as the form builds them; labels play no part in cleaning.
_PRODUCT_STARS = _stars(False, "")
_PRODUCT_COMMENT = _product_comment("")


def quick_submission(data, files, *, products) -> Submission | None:
    """What ``RatingForm(data, files, products=products)`` accepts, without building the form.

    The rating page's POST takes this first: the same field objects' ``clean()`` on the same
    values, so it accepts exactly what the form accepts, but without the form's per-request
    copy of its fields. None when files came with it or anything is invalid: the form then runs
    and explains (``reviews.views``). The property test in ``tests/reviews`` compares the two.
    """
    if files:
        return None
    fields = RatingForm.base_fields
    try:
        merchant = RatingInput(
            fields["merchant_rating"].clean(data.get("merchant_rating")),
            fields["merchant_comment"].clean(data.get("merchant_comment")),
        )
        rated = {}
        for product in products:
            stars = _PRODUCT_STARS.clean(data.get(f"product_{product.pk}_rating"))
            comment = _PRODUCT_COMMENT.clean(data.get(f"product_{product.pk}_comment"))
            if stars:
                rated[product.pk] = RatingInput(stars, comment)
        return Submission(
            merchant=merchant,
            products=rated,
            display_name=fields["display_name"].clean(data.get("display_name")),
            dialogue_email=fields["dialogue_email"].clean(data.get("dialogue_email")),
        )
    except ValidationError:
        return None


class VisitorReviewForm(forms.Form):
    """A review without an order, written on the certificate page (R14)."""

    rating = _stars(True, _("Your rating of this shop"))
    comment = forms.CharField(
        label=_("Your experience"), max_length=MAX_COMMENT, widget=forms.Textarea(attrs={"rows": 5})
    )
    display_name = forms.CharField(
        label=_("Name shown with your review (optional)"), required=False, max_length=60
    )
    email = forms.EmailField(
        label=_("Your email address"),
        help_text=_(
            "We send you a link to confirm the review. The address is used for nothing else and "
            "deleted once you confirm."
        ),
    )
