"""The contract pages of the customer backend (R44-R47): every role reads them, owners accept
offers and object to terms."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from companies.models import Role
from companies.views_backend import backend_context, require_role
from ekomi.ratelimit import client_ip
from status.selectors import maintenance_upcoming
from terms import selectors, services


class OfferAcceptForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    digest = forms.CharField(max_length=64, widget=forms.HiddenInput)
    confirm = forms.BooleanField(
        label=gettext_lazy(
            "I accept this offer on behalf of my company and am authorised to do so."
        )
    )


class ObjectionForm(forms.Form):
    remark = forms.CharField(
        label=gettext_lazy("Remark (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


def _is_owner(request) -> bool:
    return request.membership.role == Role.OWNER


@require_safe
@require_role(Role.VIEWER)
def contract(request):
    company = request.company
    context = backend_context(
        request,
        offers=selectors.offers_for_company(company=company),
        contract=selectors.contract_current(company=company),
        accepted=selectors.terms_accepted(company=company),
        pending=selectors.terms_pending(company=company),
        maintenance=maintenance_upcoming(),
        sanctions=selectors.sanctions_open(company=company),
        is_owner=_is_owner(request),
    )
    return render(request, "backend/terms/contract.html", context)


def _offer_page(request, offer, form, status=200):
    version = services.offer_latest_version(offer=offer)
    if form is None and version is not None:
        form = OfferAcceptForm(initial={"version": version.number, "digest": version.digest})
    context = backend_context(
        request, offer=offer, version=version, form=form, is_owner=_is_owner(request)
    )
    return render(request, "backend/terms/offer.html", context, status=status)


@require_safe
@require_role(Role.VIEWER)
def offer_detail(request, offer_id: int):
    offer = selectors.access_offer(company=request.company, offer_id=offer_id)
    return _offer_page(request, offer, None)


@require_POST
@require_role(Role.OWNER)
def offer_accept_view(request, offer_id: int):
    offer = selectors.access_offer(company=request.company, offer_id=offer_id)
    form = OfferAcceptForm(request.POST)
    if not form.is_valid():
        return _offer_page(request, offer, form, status=400)
    try:
        services.offer_accept(
            offer=offer,
            version_number=form.cleaned_data["version"],
            digest=form.cleaned_data["digest"],
            user=request.user,
            client_ip=client_ip(request),
        )
    except services.TermsError as exc:
        messages.error(request, str(exc))  # translated where it is raised
        offer.refresh_from_db()
        return _offer_page(request, offer, None, status=409)
    messages.success(request, _("Thank you: the offer is accepted and the contract concluded."))
    return redirect("backend:contract")


def _terms_page(request, version, form, status=200):
    pending = {p.version.pk: p for p in selectors.terms_pending(company=request.company)}
    context = backend_context(
        request,
        version=version,
        pending=pending.get(version.pk),
        deadline=services.objection_deadline(version),
        form=form or ObjectionForm(),
        is_owner=_is_owner(request),
    )
    return render(request, "backend/terms/terms.html", context, status=status)


@require_safe
@require_role(Role.VIEWER)
def terms_detail(request, version_id: int):
    version = selectors.access_terms_version(version_id=version_id)
    return _terms_page(request, version, None)


@require_POST
@require_role(Role.OWNER)
def terms_object_view(request, version_id: int):
    version = selectors.access_terms_version(version_id=version_id)
    form = ObjectionForm(request.POST)
    if not form.is_valid():
        return _terms_page(request, version, form, status=400)
    try:
        services.terms_object(
            company=request.company,
            version=version,
            user=request.user,
            remark=form.cleaned_data["remark"],
        )
    except services.TermsError as exc:
        messages.error(request, str(exc))  # translated where it is raised
        return _terms_page(request, version, form, status=409)
    messages.success(request, _("Your objection is recorded. Our staff will contact you."))
    return redirect("backend:contract")
