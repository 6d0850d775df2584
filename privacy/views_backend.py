"""The backend's "Data" page: exports, evaluator erasure, retention (R11, R42, GD-1, GD-3).

Owners only: the page shows and hands out every personal field of the company.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from companies.models import Role
from companies.views_backend import backend_context, require_role
from moderation import erasure
from privacy import services
from privacy.forms import EvaluatorEraseForm, EvaluatorForm, RetentionForm
from privacy.models import DataExport

EXPORTS_SHOWN = 20


def _page(request, status=200, **forms):
    exports = (
        DataExport.objects.for_company(request.company)
        .select_related("requested_by")
        .order_by("-created_at", "-id")[:EXPORTS_SHOWN]
    )
    days = services.retention_days(request.company)
    context = backend_context(
        request,
        exports=list(exports),
        evaluator_form=forms.get("evaluator_form") or EvaluatorForm(prefix="export"),
        erase_form=forms.get("erase_form") or EvaluatorEraseForm(prefix="erase"),
        retention_form=forms.get("retention_form")
        or RetentionForm(initial={"invitation_retention_days": days}),
        export_days=services.EXPORT_DAYS,
    )
    response = render(request, "backend/privacy/data.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


@require_safe
@require_role(Role.OWNER)
def data(request):
    return _page(request)


@require_POST
@require_role(Role.OWNER)
def export_company(request):
    services.export_request(
        company=request.company, user=request.user, kind=DataExport.Kind.COMPANY
    )
    messages.success(
        request, _("Your export is being prepared. Reload this page in a minute to download it.")
    )
    return redirect("backend:data")


@require_POST
@require_role(Role.OWNER)
def export_evaluator(request):
    form = EvaluatorForm(request.POST, prefix="export")
    if not form.is_valid():
        return _page(request, status=400, evaluator_form=form)
    services.export_request(
        company=request.company,
        user=request.user,
        kind=DataExport.Kind.EVALUATOR,
        order_id=form.cleaned_data["order_id"],
        email=form.cleaned_data["email"],
    )
    messages.success(
        request,
        _("The evaluator's export is being prepared. Reload this page in a minute to download it."),
    )
    return redirect("backend:data")


@never_cache
@require_safe
@require_role(Role.OWNER)
def export_download(request, export_id: int):
    export = DataExport.objects.for_company(request.company).filter(pk=export_id).first()
    if export is None:
        raise Http404
    handle = services.export_take(export=export, user=request.user)
    if handle is None:
        messages.error(request, _("This export was already downloaded or has expired."))
        return redirect("backend:data")
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=f"export-{export.kind}-{export.public_id}.zip",
        content_type="application/zip",
    )
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@require_role(Role.OWNER)
def evaluator_erase_view(request):
    form = EvaluatorEraseForm(request.POST, prefix="erase")
    if not form.is_valid():
        return _page(request, status=400, erase_form=form)
    try:
        result = erasure.evaluator_erase(
            company=request.company,
            order_id=form.cleaned_data["order_id"] or None,
            email=form.cleaned_data["email"] or None,
            mode=form.cleaned_data["mode"],
            actor=request.user,
        )
    except erasure.EvaluatorNotFound:
        form.add_error(None, _("No invitation or review of this evaluator was found."))
        return _page(request, status=404, erase_form=form)
    messages.success(
        request,
        _("Erased: %(invitations)s invitations and %(reviews)s reviews.")
        % {"invitations": result.invitations, "reviews": result.reviews},
    )
    return redirect("backend:data")


@require_POST
@require_role(Role.OWNER)
def retention(request):
    form = RetentionForm(request.POST)
    if not form.is_valid():
        return _page(request, status=400, retention_form=form)
    services.retention_settings_save(
        company=request.company, days=form.cleaned_data["invitation_retention_days"]
    )
    messages.success(request, _("The retention period was saved."))
    return redirect("backend:data")
