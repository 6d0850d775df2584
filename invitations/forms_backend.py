"""Forms of the customer backend's invitation pages: filters, CSV upload, email templates."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from invitations.csv_import import OrderImportRefused, order_import_check
from invitations.emails import BODY_MAX_LENGTH, SUBJECT_MAX_LENGTH
from invitations.models import Invitation


class InvitationFilterForm(forms.Form):
    """The list's filters, read from the query string; an invalid value is simply ignored."""

    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("all"))] + list(Invitation.Status.choices),
    )
    created_from = forms.DateField(
        label=_("Created from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    created_to = forms.DateField(
        label=_("Created until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    order_id = forms.CharField(label=_("Order id"), required=False, max_length=255)

    def filters(self) -> dict:
        """The valid filters, for ``invitation_list``; invalid ones are left out."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "status": data.get("status") or "",
            "created_from": data.get("created_from"),
            "created_to": data.get("created_to"),
            "order_id": (data.get("order_id") or "").strip(),
        }


class OrderImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file of orders"),
        help_text=_(
            "Columns order_id, email and order_date are required (German names such as "
            "Bestellnummer, E-Mail, Bestelldatum work too); optional: first_name, last_name, "
            "delivery_date, locale, consent, product_id, product_name. Separated by ; or , "
            "or tab, UTF-8 or Latin-1."
        ),
        allow_empty_file=True,  # refused below with our own message
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        try:
            order_import_check(uploaded_file=upload)
        except OrderImportRefused as exc:
            raise forms.ValidationError(str(exc), code=exc.code) from exc
        return upload


class EmailTemplateForm(forms.Form):
    """A draft of one kind and language; the sandbox checks it (``emails._template_errors``)."""

    subject = forms.CharField(
        label=_("Subject"),
        max_length=SUBJECT_MAX_LENGTH,
        strip=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "true"}),
    )
    body = forms.CharField(
        label=_("Text"),
        max_length=BODY_MAX_LENGTH,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "true"}),
    )
