from django import forms
from django.utils.translation import gettext_lazy as _

from moderation import erasure
from privacy.models import RETENTION_MAX_DAYS, RETENTION_MIN_DAYS


class EvaluatorForm(forms.Form):
    """Name one evaluator by order id or email address (R42)."""

    order_id = forms.CharField(label=_("Order ID"), max_length=255, required=False)
    email = forms.EmailField(label=_("Email address"), required=False)

    def clean(self):
        data = super().clean()
        if not (data.get("order_id") or data.get("email")):
            raise forms.ValidationError(_("Give an order ID or an email address."))
        return data


class EvaluatorEraseForm(EvaluatorForm):
    mode = forms.ChoiceField(
        label=_("What happens to their reviews"),
        choices=[
            (erasure.ANONYMISE, _("Anonymise: the stars stay, text and name go")),
            (erasure.DELETE, _("Delete the reviews")),
        ],
        initial=erasure.ANONYMISE,
    )
    confirm = forms.BooleanField(
        label=_("I confirm this evaluator's data is erased for good"), required=True
    )


class RetentionForm(forms.Form):
    invitation_retention_days = forms.IntegerField(
        label=_("Keep invitation email addresses and names for (days)"),
        min_value=RETENTION_MIN_DAYS,
        max_value=RETENTION_MAX_DAYS,
        help_text=_("After the rating link expired or was used; between 7 and 90 days."),
    )


class SelfErasureForm(forms.Form):
    """The evaluator's own choice on the erasure page (GD-1)."""

    mode = forms.ChoiceField(
        label=_("What should happen to your review"),
        choices=[
            (erasure.ANONYMISE, _("Keep my stars anonymously, remove my text and name")),
            (erasure.DELETE, _("Delete my review completely")),
        ],
        widget=forms.RadioSelect,
        initial=erasure.ANONYMISE,
    )
    confirm = forms.BooleanField(
        label=_("Yes, erase my data. This cannot be undone."), required=True
    )
