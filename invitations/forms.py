"""Public forms of the invitations app."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from invitations.ingest import normalize_email
from invitations.link_requests import EvidenceError, evidence_check


class LinkRequestForm(forms.Form):
    """R10: 'Bought here but got no invitation?'"""

    email = forms.CharField(label=_("Your email address"), max_length=254)
    order_reference = forms.CharField(label=_("Order number"), max_length=255)
    message = forms.CharField(
        label=_("Anything we should know? (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    evidence = forms.FileField(
        label=_("Evidence of your order (optional)"),
        help_text=_(
            "An order confirmation or invoice as PDF, JPEG or PNG, at most 5 MB. "
            "Only our staff see it."
        ),
        required=False,
    )

    def clean_email(self):
        try:
            return normalize_email(self.cleaned_data["email"])
        except ValueError as exc:
            raise forms.ValidationError(_("Enter a valid email address.")) from exc

    def clean_evidence(self):
        upload = self.cleaned_data.get("evidence")
        if upload:
            try:
                evidence_check(upload)
            except EvidenceError as exc:
                raise forms.ValidationError(str(exc)) from exc
        return upload
