"""Backend forms of the billing area."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from billing.models import Plan


class TerminationForm(forms.Form):
    """R33: a termination in text form; the reason is optional."""

    reason = forms.CharField(
        label=_("Reason (optional)"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    confirm = forms.BooleanField(
        label=_("Yes, I terminate our contract at the earliest possible date."), required=True
    )


class UpgradeForm(forms.Form):
    plan = forms.ModelChoiceField(label=_("New plan"), queryset=Plan.objects.none())

    def __init__(self, *args, plans: list[Plan], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = Plan.objects.filter(pk__in=[p.pk for p in plans])
