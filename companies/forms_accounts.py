"""Forms of the account pages: business sign-up and email login (R1, R3)."""

from __future__ import annotations

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _
from stdnum.eu import vat

from companies.countries import EU_COUNTRIES
from companies.models import Membership, Role, User

COUNTRY_CHOICES = [
    ("DE", _("Germany")),
    ("AT", _("Austria")),
    ("CH", _("Switzerland")),
    ("NL", _("Netherlands")),
    ("BE", _("Belgium")),
    ("FR", _("France")),
    ("IT", _("Italy")),
    ("ES", _("Spain")),
    ("PL", _("Poland")),
    ("DK", _("Denmark")),
    ("SE", _("Sweden")),
    ("GB", _("United Kingdom")),
]
# Greece uses "EL" as its VAT prefix.
VAT_PREFIX = {"GR": "EL"}


class SignupForm(forms.Form):
    company_name = forms.CharField(label=_("Company name"), max_length=200)
    street = forms.CharField(label=_("Street and number"), max_length=200)
    postal_code = forms.CharField(label=_("Postal code"), max_length=20)
    city = forms.CharField(label=_("City"), max_length=100)
    country = forms.ChoiceField(label=_("Country"), choices=COUNTRY_CHOICES, initial="DE")
    vat_id = forms.CharField(
        label=_("VAT ID"),
        max_length=20,
        required=False,
        help_text=_("Required for companies in the EU, e.g. DE123456789."),
    )
    shop_name = forms.CharField(label=_("Shop name"), max_length=200)
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    email = forms.EmailField(label=_("Email address"))
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    may_act_for_company = forms.BooleanField(
        label=_("I confirm that I may act on behalf of this company."), required=True
    )
    accept_terms = forms.BooleanField(
        label=_("I accept the terms of use and the privacy policy."), required=True
    )
    newsletter = forms.BooleanField(
        label=_("Send me the newsletter with product news (optional, unsubscribe at any time)."),
        required=False,
    )

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(_("An account with this email address already exists."))
        return email

    def clean(self):
        cleaned = super().clean()
        self._clean_vat_id(cleaned)
        password = cleaned.get("password")
        if password:
            probe = User(
                email=cleaned.get("email", ""),
                first_name=cleaned.get("first_name", ""),
                last_name=cleaned.get("last_name", ""),
            )
            try:
                password_validation.validate_password(password, probe)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned

    def _clean_vat_id(self, cleaned: dict) -> None:
        country, raw = cleaned.get("country"), cleaned.get("vat_id", "")
        if not raw:
            if country in EU_COUNTRIES:
                self.add_error("vat_id", _("Companies in the EU must give their VAT ID."))
            return
        number = vat.compact(raw)
        if not vat.is_valid(number):
            self.add_error("vat_id", _("This is not a valid VAT ID."))
        elif country and not number.startswith(VAT_PREFIX.get(country, country)):
            self.add_error("vat_id", _("The VAT ID does not belong to the chosen country."))
        else:
            cleaned["vat_id"] = number


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label=_("Email address"), widget=forms.EmailInput(attrs={"autofocus": True})
    )
    error_messages = {
        # One message for unknown, wrong and unconfirmed accounts: nothing reveals which (AU-5).
        "invalid_login": _(
            "Please enter a correct email address and password. New accounts work once the "
            "email address is confirmed."
        ),
        "inactive": _(
            "Please enter a correct email address and password. New accounts work once the "
            "email address is confirmed."
        ),
    }


class SwitchCompanyForm(forms.Form):
    company_id = forms.IntegerField(min_value=1)


class SwitchShopForm(forms.Form):
    shop_id = forms.IntegerField(min_value=1)
    next = forms.CharField(required=False, max_length=500)


class TeamInviteForm(forms.Form):
    email = forms.EmailField(label=_("Email address"))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.MANAGER)

    def __init__(self, *args, company=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.company = company

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        members = Membership.objects.for_company(self.company).filter(user__email__iexact=email)
        if members.exists():
            raise forms.ValidationError(_("This person is already a member of your team."))
        return email


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class JoinForm(forms.Form):
    """For an invited person without a login yet."""

    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, email: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        cleaned = super().clean()
        password = cleaned.get("password")
        if password:
            probe = User(
                email=self.email,
                first_name=cleaned.get("first_name", ""),
                last_name=cleaned.get("last_name", ""),
            )
            try:
                password_validation.validate_password(password, probe)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned
