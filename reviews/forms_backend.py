"""Forms of the backend's review pages: the list's filters and the manager's actions (R20, R22)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from companies.models import Shop
from reviews.models import Rating, Review
from reviews.selectors import ReviewFilters, products_of_shop
from reviews.services_comments import MAX_COMMENT

MAX_SEARCH = 200
MAX_MESSAGE = 5000


class ProductChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.name} ({obj.product_id})"


class ReviewFilterForm(forms.Form):
    """GET filters of the review list; an invalid value is a form error, never a 500."""

    q = forms.CharField(label=_("Search in the text"), required=False, max_length=MAX_SEARCH)
    stars = forms.TypedMultipleChoiceField(
        label=_("Stars"),
        choices=[(value, str(value)) for value in reversed(Rating.values)],
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    status = forms.MultipleChoiceField(
        label=_("Status"),
        choices=Review.Status.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    product = ProductChoiceField(
        label=_("Product"), queryset=None, required=False, empty_label=_("All products")
    )
    date_from = forms.DateField(
        label=_("Submitted from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("Submitted until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    with_comment = forms.BooleanField(label=_("With comment only"), required=False)

    def __init__(self, data, *, shop: Shop, **kwargs):
        super().__init__(data, **kwargs)
        self.fields["product"].queryset = products_of_shop(shop)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date must not be before the start date."))
        return cleaned

    def filters(self) -> ReviewFilters:
        data = self.cleaned_data
        return ReviewFilters(
            stars=tuple(data.get("stars") or ()),
            statuses=tuple(data.get("status") or ()),
            product=data.get("product"),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            with_comment=bool(data.get("with_comment")),
            text=data.get("q") or "",
        )


class _PageForm(forms.Form):
    """Several forms share the detail page: each gets ids of its own (names stay plain)."""

    id_prefix = "form"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)


class CompanyCommentForm(_PageForm):
    id_prefix = "comment"
    text = forms.CharField(
        label=_("Public comment"),
        max_length=MAX_COMMENT,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_(
            "Shown under the review on the certificate page. Personal data is not allowed and "
            "is starred out."
        ),
    )


class DialogueMessageForm(_PageForm):
    id_prefix = "message"
    text = forms.CharField(
        label=_("Message to the evaluator"),
        max_length=MAX_MESSAGE,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Private: the evaluator gets it by email; you never see their address."),
    )


class ComplaintForm(_PageForm):
    id_prefix = "complaint"
    reason = forms.ChoiceField(label=_("Reason"), choices=())
    explanation = forms.CharField(
        label=_("Explanation"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What breaks the review conditions or the law, and why."),
    )

    def __init__(self, *args, reasons, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].choices = [("", _("Choose a reason")), *reasons]
