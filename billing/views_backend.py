"""The backend's billing page (owners only, R2): contract, notice, invoices, termination (R33)
and upgrades (R40)."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from billing import selectors, services
from billing.documents import invoice_filename, invoice_pdf
from billing.forms import TerminationForm, UpgradeForm
from billing.models import Contract
from billing.upgrades import contract_upgrade, upgrade_plans
from companies.models import Role
from companies.views_backend import backend_context, require_role


def _payment_url() -> str | None:
    """The payments area's page, once that app provides it."""
    try:
        return reverse("backend:payment")
    except NoReverseMatch:
        return None


def _contract_or_404(request) -> Contract:
    contract = services.contract_current(company=request.company)
    if contract is None:
        raise Http404
    return contract


@require_safe
@require_role(Role.OWNER)
def billing(request):
    today = timezone.localdate()
    contract = services.contract_current(company=request.company)
    plans = upgrade_plans(contract=contract, today=today) if contract else []
    context = backend_context(
        request,
        contract=contract,
        summary=selectors.contract_summary(contract=contract, today=today) if contract else None,
        invoices=list(selectors.invoices_for_company(company=request.company)),
        payment_url=_payment_url(),
        upgrade_form=UpgradeForm(plans=plans) if plans else None,
    )
    return render(request, "backend/billing/billing.html", context)


@require_safe
@require_role(Role.OWNER)
def invoice_download(request, invoice_id: int):
    invoice = selectors.access_invoice(company=request.company, invoice_id=invoice_id)
    response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{invoice_filename(invoice)}"'
    return response


@require_role(Role.OWNER)
def terminate(request):
    """R33: the owner terminates in text form; the page then confirms the end date."""
    contract = _contract_or_404(request)
    if contract.status in (Contract.Status.TERMINATED, Contract.Status.ENDED):
        return render(
            request, "backend/billing/terminated.html", backend_context(request, contract=contract)
        )
    form = TerminationForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        contract = services.contract_terminate(
            contract=contract,
            requested_on=timezone.localdate(),
            reason=form.cleaned_data["reason"],
            kind=Contract.TerminationKind.CUSTOMER,
        )
        messages.success(
            request,
            _("Your contract is terminated and ends on %(date)s. We sent you a confirmation.")
            % {"date": _date(contract.ends_on)},
        )
        return redirect("backend:billing-terminate")
    summary = selectors.contract_summary(contract=contract, today=timezone.localdate())
    context = backend_context(request, contract=contract, summary=summary, form=form)
    status = 400 if request.method == "POST" else 200
    return render(request, "backend/billing/terminate.html", context, status=status)


def _date(day: datetime.date) -> str:
    return day.strftime("%d.%m.%Y")


@require_POST
@require_role(Role.OWNER)
def upgrade(request):
    """R40: move to a higher plan at once."""
    contract = _contract_or_404(request)
    today = timezone.localdate()
    form = UpgradeForm(request.POST, plans=upgrade_plans(contract=contract, today=today))
    if not form.is_valid():
        messages.error(request, _("Nothing was changed: choose one of the plans offered."))
        return redirect("backend:billing")
    plan = form.cleaned_data["plan"]
    try:
        invoice = contract_upgrade(contract=contract, plan=plan, today=today)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("backend:billing")
    messages.success(
        request,
        _("You are now on the plan %(plan)s; invoice %(number)s is in your invoices.")
        % {"plan": plan.name, "number": invoice.number},
    )
    return redirect("backend:billing")
