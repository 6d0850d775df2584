"""Forms of the settings page (R7, R8, R14, R41). Limits come from the Shop model and R7."""

from __future__ import annotations

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from companies.models import Shop

DELAY_MAX_DAYS = 90  # Shop.invitation_delay_days and its check constraint
REMINDERS_MAX = 3  # Shop.reminder_count and its check constraint
REMINDER_INTERVAL_MAX_DAYS = 60
PAUSE_MAX_DAYS = 180
EMAIL_LANGUAGES = (("en", _("English")), ("de", _("German")))
TEXT_MAX = 2000


def _range_messages(low: int, high: int, unit) -> dict:
    message = _("Enter a number from %(low)s to %(high)s %(unit)s.") % {
        "low": low,
        "high": high,
        "unit": unit,
    }
    return {"min_value": message, "max_value": message, "invalid": message, "required": message}


class ShopSettingsForm(forms.ModelForm):
    """Invitation schedule (R7), email language and visitor reviews (R14) of one shop."""

    reminders_enabled = forms.BooleanField(
        label=_("Send reminders while the link is unrated"), required=False
    )

    class Meta:
        model = Shop
        fields = (
            "invitation_delay_days",
            "delay_basis",
            "reminders_enabled",
            "reminder_count",
            "reminder_interval_days",
            "default_locale",
            "non_transaction_reviews_enabled",
        )
        labels = {
            "invitation_delay_days": _("Send the invitation after (days)"),
            "delay_basis": _("Count the days from"),
            "reminder_count": _("Number of reminders"),
            "reminder_interval_days": _("Days between invitation and each reminder"),
            "default_locale": _("Language of the emails"),
            "non_transaction_reviews_enabled": _(
                "Let visitors write reviews on the certificate page (labelled as such, never "
                "counted in the average)"
            ),
        }
        help_texts = {
            "invitation_delay_days": _("0 to 90 days; the default is 7."),
            "default_locale": _("Used when an order does not name a language we offer."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        fields = self.fields
        fields["invitation_delay_days"] = forms.IntegerField(
            label=fields["invitation_delay_days"].label,
            help_text=fields["invitation_delay_days"].help_text,
            min_value=0,
            max_value=DELAY_MAX_DAYS,
            error_messages=_range_messages(0, DELAY_MAX_DAYS, _("days")),
        )
        fields["reminder_count"] = forms.IntegerField(
            label=fields["reminder_count"].label,
            min_value=1,
            max_value=REMINDERS_MAX,
            required=False,
            error_messages=_range_messages(1, REMINDERS_MAX, _("reminders")),
        )
        fields["reminder_interval_days"] = forms.IntegerField(
            label=fields["reminder_interval_days"].label,
            min_value=1,
            max_value=REMINDER_INTERVAL_MAX_DAYS,
            error_messages=_range_messages(1, REMINDER_INTERVAL_MAX_DAYS, _("days")),
        )
        fields["default_locale"] = forms.ChoiceField(
            label=fields["default_locale"].label,
            help_text=fields["default_locale"].help_text,
            choices=EMAIL_LANGUAGES,
            error_messages={"invalid_choice": _("Choose English or German.")},
        )
        if not self.is_bound and self.instance.pk:
            self.initial["reminders_enabled"] = self.instance.reminder_count > 0
            if self.instance.reminder_count == 0:
                self.initial["reminder_count"] = 1

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("reminders_enabled"):
            cleaned["reminder_count"] = 0
            self.errors.pop("reminder_count", None)
        elif cleaned.get("reminder_count") in (None, "") and "reminder_count" not in self.errors:
            self.add_error(
                "reminder_count", _("Enter how many reminders to send (1 to 3), or turn them off.")
            )
        return cleaned

    def settings_values(self) -> dict:
        names = [name for name in self.Meta.fields if name != "reminders_enabled"]
        return {name: self.cleaned_data[name] for name in names}


class NotificationPreferencesForm(forms.Form):
    new_review = forms.BooleanField(label=_("Every new published review"), required=False)
    low_rating = forms.BooleanField(
        label=_("New reviews with 1 or 2 stars (when you do not get every review)"),
        required=False,
    )
    weekly_digest = forms.BooleanField(
        label=_("Weekly summary of new reviews (Mondays)"), required=False
    )


class NewsletterForm(forms.Form):
    subscribed = forms.BooleanField(
        label=_("Yes, send me the platform's newsletter with product news and tips."),
        help_text=_("You can unsubscribe at any time, here or with the link in every newsletter."),
        required=False,
    )


class PauseRequestForm(forms.Form):
    """R8 / 004 §6.9: pausing the rating option needs staff's consent."""

    pause_from = forms.DateField(
        label=_("Pause from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    pause_until = forms.DateField(
        label=_("Pause until (inclusive)"), widget=forms.DateInput(attrs={"type": "date"})
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Platform staff decide on the request; tell them why you need the pause."),
        error_messages={"required": _("Tell us why invitations should pause.")},
    )

    def __init__(self, *args, today: datetime.date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today or timezone.localdate()

    def clean_pause_from(self):
        start = self.cleaned_data["pause_from"]
        if start < self.today:
            raise forms.ValidationError(_("A pause cannot start in the past."))
        return start

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("pause_from"), cleaned.get("pause_until")
        if start and end:
            if end < start:
                self.add_error("pause_until", _("The end must be on or after the start."))
            elif (end - start).days + 1 > PAUSE_MAX_DAYS:
                self.add_error(
                    "pause_until",
                    _("A pause can last at most %(days)s days.") % {"days": PAUSE_MAX_DAYS},
                )
        return cleaned


class SelectionGroupRequestForm(forms.Form):
    """R8 / 004 §6.5: only an approved, clearly defined group may skip invitations."""

    criteria = forms.CharField(
        label=_("Who is invited (selection criteria)"),
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "Published on your certificate page once approved, e.g. 'Only customers who bought "
            "in our online shop, not in our stores.'"
        ),
        error_messages={"required": _("Describe which customers are invited.")},
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=TEXT_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean_criteria(self):
        criteria = self.cleaned_data["criteria"].strip()
        if len(criteria) < 20:
            raise forms.ValidationError(
                _(
                    "Describe the group clearly enough for customers to understand it "
                    "(20 characters or more)."
                )
            )
        return criteria
