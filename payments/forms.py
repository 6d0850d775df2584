"""Backend form for the SEPA mandate (R35)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from payments.services import iban_check


class MandateForm(forms.Form):
    account_holder = forms.CharField(label=_("Account holder"), max_length=70)
    iban = forms.CharField(label=_("IBAN"), max_length=42)
    bic = forms.CharField(
        label=_("BIC"),
        max_length=11,
        required=False,
        help_text=_("Optional: found from the IBAN where possible."),
    )
    authorise = forms.BooleanField(label=_("I grant the SEPA direct debit mandate below."))

    def clean(self):
        data = super().clean()
        if self.errors.get("iban"):
            return data
        try:
            data["iban"], data["bic"] = iban_check(
                iban=data.get("iban", ""), bic=data.get("bic", "").strip()
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                self.add_error(field, errors)
        return data

    @staticmethod
    def mandate_text() -> str:
        return _(
            "I authorise %(creditor)s (creditor identifier %(creditor_id)s) to collect payments "
            "from my account by SEPA direct debit, and I instruct my bank to pay those debits. "
            "I can ask my bank for a refund within eight weeks of the debit date under the terms "
            "agreed with my bank. The company receives a pre-notification at least one day before "
            "each debit."
        ) % {
            "creditor": settings.PAYMENTS_CREDITOR_NAME,
            "creditor_id": settings.PAYMENTS_CREDITOR_ID,
        }
