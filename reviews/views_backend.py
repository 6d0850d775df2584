"""The backend's review pages under /backend/reviews/ (R2, R15, R16, R20, R22, TI-1).

Every page works on the shop chosen in the header (``request.shop``); a review of another shop
or company is a 404. Viewers read everything and export; writing needs a manager (R2).

Like ``companies.views_backend``, these views compose several apps for one page: they call the
moderation app's dialogue and complaint services, which ``reviews`` models do not know about.
"""

from __future__ import annotations

import csv

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from companies.models import Role
from companies.views_backend import ROLE_RANK, backend_context, require_role
from invitations.csv_import.report import neutralize  # IN-5: = + - @ tab CR get a quote
from moderation.complaints import ReviewNotOpenToComplaints, complaint_file
from moderation.dialogue import DialogueEnded, DialogueError, dialogue_available
from moderation.dialogue import dialogue_company_write as dialogue_write
from moderation.models import Complaint
from reviews.forms_backend import (
    CompanyCommentForm,
    ComplaintForm,
    DialogueMessageForm,
    ReviewFilterForm,
)
from reviews.models import CompanyComment, DialogueThread, Review
from reviews.selectors import access_review, review_detail, review_list_for_shop
from reviews.services_comments import (
    CommentError,
    ReviewNotPublished,
    company_comment_delete,
    company_comment_set,
)

PAGE_SIZE = 25


def _query_without_page(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@require_safe
@require_role(Role.VIEWER)
def review_list(request):
    """The chosen shop's reviews with filters, full-text search and pages (fixed queries)."""
    shop = request.shop
    context = backend_context(request, shop=shop, form=None, page=None)
    status = 200
    if shop is not None:
        form = ReviewFilterForm(request.GET, shop=shop)
        context.update(form=form, query=_query_without_page(request))
        if form.is_valid():
            reviews = review_list_for_shop(shop=shop, filters=form.filters())
            context["page"] = Paginator(reviews, PAGE_SIZE).get_page(request.GET.get("page"))
        else:
            status = 400
    return render(request, "backend/reviews/list.html", context, status=status)


class _Echo:
    """A file-like object for csv.writer that hands each line back instead of storing it."""

    def write(self, value: str) -> str:
        return value


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _csv_row(review: Review) -> list:
    comment = getattr(review, "company_comment", None)
    product = review.product
    return [
        str(review.public_id),
        _when(review.submitted_at),
        _when(review.published_at),
        review.rating,
        review.kind,
        product.product_id if product else "",
        product.name if product else "",
        review.status,
        "yes" if review.is_transaction_based else "no",
        review.display_name,
        review.comment,
        comment.text if comment else "",
        comment.status if comment else "",
    ]


def _csv_lines(header: list[str], reviews):
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    yield "\ufeff"  # the BOM makes Excel read the file as UTF-8
    yield writer.writerow(header)
    for review in reviews.iterator(chunk_size=500):
        yield writer.writerow([neutralize(cell) for cell in _csv_row(review)])


@require_safe
@require_role(Role.VIEWER)
def review_export(request):
    """The filtered list as CSV (streamed, UTF-8 with BOM, formula cells neutralized, IN-5).
    Viewers may read every review, so they may export them too (R2)."""
    shop = request.shop
    form = ReviewFilterForm(request.GET, shop=shop) if shop is not None else None
    if form is None or not form.is_valid():
        messages.error(request, _("Please correct the filters before exporting."))
        return redirect(reverse("backend:review-list") + "?" + request.GET.urlencode())
    reviews = review_list_for_shop(shop=shop, filters=form.filters())
    header = [
        _("Review id"),
        _("Submitted"),
        _("Published"),
        _("Stars"),
        _("Kind"),
        _("Product id"),
        _("Product"),
        _("Status"),
        _("Transaction-based"),
        _("Name"),
        _("Comment"),
        _("Company comment"),
        _("Company comment status"),
    ]
    response = StreamingHttpResponse(
        _csv_lines(header, reviews), content_type="text/csv; charset=utf-8"
    )
    filename = f"reviews-{shop.slug}-{timezone.localdate():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _can_write(request) -> bool:
    return ROLE_RANK[request.membership.role] >= ROLE_RANK[Role.MANAGER]


def _render_detail(request, review: Review, status: int = 200, **forms):
    complaints = list(
        Complaint.objects.for_company(review.company_id)
        .filter(review=review, source=Complaint.Source.COMPANY)
        .order_by("created_at", "pk")
    )
    detail = review_detail(review, complaints=complaints)
    comment = detail.comment
    if "comment_form" not in forms:
        initial = {"text": comment.submitted_text} if comment else None
        forms["comment_form"] = CompanyCommentForm(initial=initial)
    forms.setdefault("message_form", DialogueMessageForm())
    forms.setdefault("complaint_form", ComplaintForm(reasons=Complaint.ReasonCode.choices))
    context = backend_context(
        request,
        detail=detail,
        review=review,
        can_write=_can_write(request),
        is_published=review.status == Review.Status.PUBLISHED,
        dialogue_open=dialogue_available(review)
        and (detail.thread is None or detail.thread.status == DialogueThread.Status.OPEN),
        comment_removed=comment is not None and comment.status == CompanyComment.Status.REMOVED,
        **forms,
    )
    return render(request, "backend/reviews/detail.html", context, status=status)


def _detail_url(review: Review, anchor: str = "") -> str:
    return reverse("backend:review-detail", args=[review.pk]) + (f"#{anchor}" if anchor else "")


@require_safe
@require_role(Role.VIEWER)
def review_detail_view(request, review_id: int):
    review = access_review(company=request.company, shop=request.shop, review_id=review_id)
    return _render_detail(request, review)


@require_POST
@require_role(Role.MANAGER)
def review_comment(request, review_id: int):
    """Write or replace the public company comment (R22): checked like any comment."""
    review = access_review(company=request.company, shop=request.shop, review_id=review_id)
    form = CompanyCommentForm(request.POST)
    if form.is_valid():
        try:
            comment = company_comment_set(
                review=review, text=form.cleaned_data["text"], user=request.user
            )
        except ReviewNotPublished:
            form.add_error("text", _("Only a published review can be commented on."))
        except CommentError:
            form.add_error("text", _("A comment needs some text."))
        else:
            if comment.status == CompanyComment.Status.PUBLISHED:
                messages.success(request, _("Your comment is published under the review."))
            else:
                messages.success(
                    request, _("Your comment was saved and waits for a moderator's check.")
                )
            return redirect(_detail_url(review, "comment"))
    return _render_detail(request, review, status=400, comment_form=form)


@require_POST
@require_role(Role.MANAGER)
def review_comment_delete(request, review_id: int):
    review = access_review(company=request.company, shop=request.shop, review_id=review_id)
    if request.POST.get("confirm") != "yes":
        messages.error(request, _("Nothing was changed: please confirm the action."))
    elif company_comment_delete(review=review):
        messages.success(request, _("Your comment was deleted."))
    else:
        messages.error(request, _("This review has no comment of yours."))
    return redirect(_detail_url(review, "comment"))


@require_POST
@require_role(Role.MANAGER)
def review_dialogue(request, review_id: int):
    """Write to the evaluator (R16, R22); the address stays hidden from the company."""
    review = access_review(company=request.company, shop=request.shop, review_id=review_id)
    form = DialogueMessageForm(request.POST)
    if form.is_valid():
        try:
            message = dialogue_write(
                review=review, text=form.cleaned_data["text"], author=request.user
            )
        except DialogueEnded:
            form.add_error("text", _("The evaluator ended this dialogue."))
        except DialogueError:
            form.add_error("text", _("The evaluator did not leave an address for dialogue."))
        else:
            if message.status == message.Status.PUBLISHED:
                messages.success(request, _("Your message was sent to the evaluator."))
            else:
                messages.success(
                    request, _("Your message waits for a moderator's check before it is sent.")
                )
            return redirect(_detail_url(review, "dialogue"))
    return _render_detail(request, review, status=400, message_form=form)


@require_POST
@require_role(Role.MANAGER)
def review_complaint(request, review_id: int):
    """File a complaint (R20): the review stays visible while a moderator decides."""
    review = access_review(company=request.company, shop=request.shop, review_id=review_id)
    form = ComplaintForm(request.POST, reasons=Complaint.ReasonCode.choices)
    if form.is_valid():
        try:
            complaint = complaint_file(
                review=review,
                source=Complaint.Source.COMPANY,
                reason=form.cleaned_data["reason"],
                explanation=form.cleaned_data["explanation"],
                filed_by=request.user,
            )
        except ReviewNotOpenToComplaints:
            form.add_error(None, _("Only a published review can be complained about."))
        else:
            text = _("Your complaint was filed. The review stays visible while it is decided.")
            if complaint.out_of_time:
                text += " " + _(
                    "It was filed more than 12 months after publication and is marked out of time."
                )
            messages.success(request, text)
            return redirect(_detail_url(review, "complaints"))
    return _render_detail(request, review, status=400, complaint_form=form)
