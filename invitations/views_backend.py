"""The customer backend's invitation pages under /backend/invitations/ (R2, R5-R8, TI-1).

The list, its detail rows, CSV imports with a progress bar polled by htmx, and the shop's email
templates per kind and language with a live preview. Every view works on ``request.shop`` (the
shop chosen in the header); an object of another company is a 404 (R4).
"""

from __future__ import annotations

import functools
import logging
import smtplib

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from companies.models import Role
from companies.views_backend import ROLE_RANK, backend_context, require_role
from ekomi.ratelimit import limit_exceeded
from invitations import emails, selectors
from invitations.csv_import import order_import_create
from invitations.forms_backend import EmailTemplateForm, InvitationFilterForm, OrderImportForm
from invitations.models import EmailTemplate, OrderImport

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
IMPORTS_SHOWN = 20
TEST_EMAILS_PER_HOUR = 5
# htmx stops polling an element when its response has this status (htmx docs, "hx-trigger").
STOP_POLLING = 286


def _is_manager(request) -> bool:
    return ROLE_RANK[request.membership.role] >= ROLE_RANK[Role.MANAGER]


def _no_shop(request):
    return render(request, "backend/invitations/no_shop.html", backend_context(request))


def mask_email(address: str) -> str:
    """``k•••@example.net``: enough to recognize a customer, not to write to them."""
    local, at, domain = address.partition("@")
    if not at:
        return "•••" if address else ""
    return f"{local[:1]}•••@{domain}"


# --- The list and one invitation ----------------------------------------------------------------


@require_safe
@require_role(Role.VIEWER)
def invitation_list(request):
    if request.shop is None:
        return _no_shop(request)
    form = InvitationFilterForm(request.GET)
    invitations = selectors.invitation_list(shop=request.shop, **form.filters())
    page = Paginator(invitations, PAGE_SIZE).get_page(request.GET.get("page"))
    for invitation in page:
        invitation.masked_email = mask_email(invitation.email)
    query = request.GET.copy()
    query.pop("page", None)
    context = backend_context(request, form=form, page=page, query=query.urlencode())
    return render(request, "backend/invitations/list.html", context)


@require_safe
@require_role(Role.VIEWER)
def invitation_detail(request, public_id):
    invitation = selectors.access_invitation(company=request.company, public_id=public_id)
    # The customers are the company's own (it is the controller, 000 §3); managers and owners
    # see the address for support, viewers only its masked form.
    show_email = _is_manager(request)
    context = backend_context(
        request,
        invitation=invitation,
        email=invitation.email if show_email else mask_email(invitation.email),
        sends=list(selectors.invitation_emails(invitation=invitation)),
    )
    return render(request, "backend/invitations/detail.html", context)


# --- CSV imports (R5, IN-3, ID-3) ---------------------------------------------------------------


def _imports_page(request, form, *, status=200):
    context = backend_context(
        request,
        form=form,
        imports=selectors.order_import_list(shop=request.shop, limit=IMPORTS_SHOWN),
        can_upload=_is_manager(request),
    )
    return render(request, "backend/invitations/imports.html", context, status=status)


@require_safe
@require_role(Role.VIEWER)
def import_list(request):
    if request.shop is None:
        return _no_shop(request)
    return _imports_page(request, OrderImportForm())


@require_POST
@require_role(Role.MANAGER)
def import_upload(request):
    if request.shop is None:
        return _no_shop(request)
    form = OrderImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _imports_page(request, form, status=400)
    upload = form.cleaned_data["file"]
    job = order_import_create(shop=request.shop, uploaded_file=upload, original_name=upload.name)
    name = {"name": job.original_name}
    messages.success(request, _("The file %(name)s was uploaded and is being imported.") % name)
    return redirect("backend:invitations-import", public_id=job.public_id)


def import_progress(job: OrderImport) -> dict:
    """What the progress bar shows: whole percent, 100 only once the import has finished."""
    finished = job.status in (OrderImport.Status.DONE, OrderImport.Status.FAILED)
    if job.status == OrderImport.Status.DONE:
        percent = 100
    elif job.rows_total:
        percent = min(99, job.rows_processed * 100 // job.rows_total)
    else:
        percent = 0
    return {"job": job, "finished": finished, "percent": percent}


@require_safe
@require_role(Role.VIEWER)
def import_detail(request, public_id):
    job = selectors.access_order_import(company=request.company, public_id=public_id)
    context = backend_context(request, **import_progress(job))
    return render(request, "backend/invitations/import.html", context)


@never_cache
@require_safe
@require_role(Role.VIEWER)
def import_status(request, public_id):
    """The progress fragment htmx polls every second; once finished it answers 286, so polling
    stops, and carries the per-line report."""
    job = selectors.access_order_import(company=request.company, public_id=public_id)
    progress = import_progress(job)
    status = STOP_POLLING if progress["finished"] else 200
    return render(request, "backend/invitations/_import_status.html", progress, status=status)


@require_safe
@require_role(Role.VIEWER)
def import_report(request, public_id):
    """Every rejected line of a finished import, as the CSV file the API also offers (IN-5)."""
    job = selectors.access_order_import(company=request.company, public_id=public_id)
    if not job.report:
        raise Http404
    try:
        stream = job.report.storage.open(job.report.name, "rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    return FileResponse(
        stream,
        as_attachment=True,
        filename=f"order-import-{job.public_id}-report.csv",
        content_type="text/csv; charset=utf-8",
    )


# --- Email templates (R7; sandboxed overrides in invitations/emails.py) -------------------------


def _checked_template(kind: str, locale: str) -> None:
    if kind not in EmailTemplate.Kind.values or locale not in emails.SUPPORTED_LOCALES:
        raise Http404


def _shop_template(view):
    """The start of the template pages: a kind or language that does not exist is a 404, and
    without a shop the page says so."""

    @functools.wraps(view)
    def checked(request, kind: str, locale: str):
        _checked_template(kind, locale)
        if request.shop is None:
            return _no_shop(request)
        return view(request, kind, locale)

    return checked


@require_safe
@require_role(Role.VIEWER)
def template_list(request):
    if request.shop is None:
        return _no_shop(request)
    overrides = selectors.email_template_overrides(shop=request.shop)
    rows = [
        (kind, label, locale, overrides.get((kind, locale)))
        for kind, label in EmailTemplate.Kind.choices
        for locale in emails.SUPPORTED_LOCALES
    ]
    context = backend_context(request, rows=rows, languages=_language_names())
    return render(request, "backend/invitations/templates.html", context)


def _language_names() -> dict[str, str]:
    return {"en": _("English"), "de": _("German")}


def _labels(kind: str, locale: str) -> dict[str, str]:
    """What the messages about a template name: its kind and its language."""
    return {"kind": EmailTemplate.Kind(kind).label, "language": _language_names()[locale]}


def _editor(request, kind: str, locale: str, form=None, *, status=200):
    override = selectors.email_template_for(shop=request.shop, kind=kind, locale=locale)
    if form is None:
        subject, body = (
            (override.subject, override.body) if override else emails.STARTER_DRAFTS[kind, locale]
        )
        form = EmailTemplateForm(initial={"subject": subject, "body": body})
    if not _is_manager(request):
        for field in form.fields.values():
            field.widget.attrs["readonly"] = True
    context = backend_context(
        request,
        form=form,
        kind=kind,
        kind_label=EmailTemplate.Kind(kind).label,
        locale=locale,
        language=_language_names()[locale],
        override=override,
        can_edit=_is_manager(request),
        variables=emails.OVERRIDE_VARIABLES,
        filters=emails.OVERRIDE_FILTERS,
    )
    return render(request, "backend/invitations/template_edit.html", context, status=status)


@require_safe
@require_role(Role.VIEWER)
@_shop_template
def template_edit(request, kind: str, locale: str):
    return _editor(request, kind, locale)


def _draft(request, kind: str, locale: str):
    """The posted draft: its form, and the rendered email or the sandbox's errors by field."""
    form = EmailTemplateForm(request.POST)
    subject, body = request.POST.get("subject", ""), request.POST.get("body", "")
    rendered, errors = emails.email_template_preview(
        shop=request.shop, kind=kind, locale=locale, subject=subject, body=body
    )
    if form.is_valid():
        for field, messages_ in errors.items():
            for message in messages_:
                form.add_error(field if field in form.fields else None, message)
    return form, rendered


@require_POST
@require_role(Role.MANAGER)
@_shop_template
def template_save(request, kind: str, locale: str):
    form, rendered = _draft(request, kind, locale)
    if not form.is_valid():
        return _editor(request, kind, locale, form, status=400)
    emails.email_template_save(shop=request.shop, kind=kind, locale=locale, **form.cleaned_data)
    messages.success(
        request,
        _("The %(kind)s email in %(language)s was saved; it is used from the next email on.")
        % _labels(kind, locale),
    )
    return redirect("backend:invitations-template", kind=kind, locale=locale)


@require_POST
@require_role(Role.VIEWER)
def template_preview(request, kind: str, locale: str):
    """The htmx fragment under the editor: the draft rendered with sample data, or its errors
    (swapped in next to the fields out of band). Changes nothing, so viewers may use it."""
    _checked_template(kind, locale)
    if request.shop is None:
        raise Http404
    form, rendered = _draft(request, kind, locale)
    context = {"form": form, "rendered": rendered if form.is_valid() else None}
    return render(request, "backend/invitations/_preview.html", context)


@require_POST
@require_role(Role.MANAGER)
@_shop_template
def template_reset(request, kind: str, locale: str):
    if emails.email_template_reset(shop=request.shop, kind=kind, locale=locale):
        message = _("The %(kind)s email in %(language)s uses the platform's text again.")
    else:
        message = _("The %(kind)s email in %(language)s already uses the platform's text.")
    messages.success(request, message % _labels(kind, locale))
    return redirect("backend:invitations-template", kind=kind, locale=locale)


@require_POST
@require_role(Role.MANAGER)
@_shop_template
def template_test(request, kind: str, locale: str):
    """Send the rendered draft to the signed-in user's own address, a few times an hour."""
    form, rendered = _draft(request, kind, locale)
    if not form.is_valid():
        return _editor(request, kind, locale, form, status=400)
    scope = f"invitations-test-email:{request.user.pk}"
    if limit_exceeded(request, scope=scope, limit=TEST_EMAILS_PER_HOUR, window_seconds=3600):
        messages.error(
            request,
            _("You sent %(count)d test emails in the last hour; please wait a while.")
            % {"count": TEST_EMAILS_PER_HOUR},
        )
        return _editor(request, kind, locale, form, status=429)
    address = {"email": request.user.email}
    try:
        emails.email_template_send_test(shop=request.shop, rendered=rendered, to=address["email"])
    except (smtplib.SMTPException, OSError):
        logger.warning("test email of shop %s could not be sent", request.shop.pk, exc_info=True)
        messages.error(request, _("The test email could not be sent; please try again later."))
        return _editor(request, kind, locale, form, status=503)
    messages.success(request, _("A test email was sent to %(email)s.") % address)
    return _editor(request, kind, locale, form)
