"""/backend/billing/payment/: the company's SEPA mandate and open items (R35, R36)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from companies.models import Role
from companies.tenancy import access_object
from companies.views_backend import backend_context, require_role
from payments import selectors, services
from payments.forms import MandateForm
from payments.models import Mandate, PaymentMethod

OPEN_ITEMS_SHOWN = 50


def _page(request, form: MandateForm, status: int = 200):
    company = request.company
    mandates = list(selectors.mandates_for_company(company=company)[:20])
    open_items = list(
        selectors.invoices_with_balance(company=company).filter(open_amount__gt=0)[
            :OPEN_ITEMS_SHOWN
        ]
    )
    context = backend_context(
        request,
        form=form,
        mandate_text=MandateForm.mandate_text(),
        active=next((m for m in mandates if m.status == Mandate.Status.ACTIVE), None),
        past=[m for m in mandates if m.status != Mandate.Status.ACTIVE],
        method=selectors.payment_method(company=company),
        sepa=PaymentMethod.SEPA,
        open_items=open_items,
        creditor_id=settings.PAYMENTS_CREDITOR_ID,
    )
    return render(request, "backend/payments/payment.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@require_role(Role.OWNER)
def payment(request):
    """R35: owners grant, replace (a new mandate revokes the old one) and see the mandate."""
    if request.method != "POST":
        return _page(request, MandateForm())
    form = MandateForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    services.mandate_create(
        company=request.company,
        account_holder=form.cleaned_data["account_holder"],
        iban=form.cleaned_data["iban"],
        bic=form.cleaned_data["bic"],
        signed_on=timezone.localdate(),
        signed_by=request.user,
    )
    messages.success(request, _("The SEPA direct debit mandate was saved."))
    return redirect("backend:payment")


@require_POST
@require_role(Role.OWNER)
def mandate_revoke(request, mandate_id: int):
    mandate = access_object(Mandate, company=request.company, pk=mandate_id)
    if mandate.status == Mandate.Status.ACTIVE:
        services.mandate_revoke(mandate=mandate, today=timezone.localdate())
        messages.success(
            request, _("The mandate %(reference)s was revoked.") % {"reference": mandate.reference}
        )
    return redirect("backend:payment")
