"""Public pages of moderation, under ``/m/`` (R20-R22).

- ``report/<shop slug>/<review id>/``: anyone reports a review from the certificate page;
- ``statement/<token>/``: the evaluator answers a complaint (emailed link);
- ``dialogue/<token>/``: the evaluator reads and answers the company, or ends the dialogue;
- ``replace/<token>/``: the evaluator replaces a (partly) deleted review (R21).

Token pages are ``no-store`` and ``no-referrer`` (AU-4): the link is the key. None of them shows
an address or a name of anyone involved.
"""

from __future__ import annotations

from functools import wraps

from django import forms
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from companies.selectors import shop_by_slug
from ekomi.ratelimit import client_ip, limit_exceeded
from moderation import complaints, dialogue, services, tokens
from moderation.models import Complaint
from reviews.models import DialogueThread, Rating, Review

REPORTS_PER_HOUR = 10  # per client address


def private_page(view):
    """No caching anywhere and no Referer leaving these pages (AU-4)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["Referrer-Policy"] = "no-referrer"
        return response

    return never_cache(wrapped)


def _invalid(request, status: int = 404):
    return render(request, "public/moderation/link_invalid.html", status=status)


# --- Reporting a review (R20) -----------------------------------------------------------------


class ReportForm(forms.Form):
    reason = forms.ChoiceField(label=_("What is wrong with this review?"), choices=[])
    explanation = forms.CharField(
        label=_("Explanation (optional)"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    email = forms.EmailField(
        label=_("Your email address (optional)"),
        help_text=_("Only to tell you our decision; deleted once we have."),
        required=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].choices = Complaint.ReasonCode.choices


def _reported_review(slug: str, ref) -> Review | None:
    shop = shop_by_slug(slug)
    if shop is None or not shop.is_public:
        return None
    return (
        Review.objects.for_company(shop.company_id)
        .select_related("shop")
        .filter(shop=shop, public_id=ref, status=Review.Status.PUBLISHED)
        .first()
    )


@never_cache
@require_http_methods(["GET", "POST"])
def report_review(request, slug: str, ref):
    review = _reported_review(slug, ref)
    if review is None:
        return _invalid(request)
    form = ReportForm(request.POST or None)
    context = {"shop": review.shop, "review": review, "form": form}
    if request.method == "POST" and form.is_valid():
        if limit_exceeded(
            request, scope="report-review", limit=REPORTS_PER_HOUR, window_seconds=3600
        ):
            return render(request, "public/moderation/slow_down.html", status=429)
        complaints.complaint_file(
            review=review,
            source=Complaint.Source.PUBLIC,
            reason=form.cleaned_data["reason"],
            explanation=form.cleaned_data["explanation"],
            complainant_email=form.cleaned_data["email"],
        )
        return render(request, "public/moderation/report_sent.html", context)
    status = 400 if request.method == "POST" else 200
    return render(request, "public/moderation/report_form.html", context, status=status)


# --- The evaluator's statement (R20, 004 §5.4) --------------------------------------------------


class StatementForm(forms.Form):
    statement = forms.CharField(
        label=_("Your statement"), max_length=5000, widget=forms.Textarea(attrs={"rows": 8})
    )


@private_page
@require_http_methods(["GET", "POST"])
def statement(request, token: str):
    complaint = complaints.complaint_from_statement_token(token)
    if complaint is None or complaint.status != Complaint.Status.STATEMENT_REQUESTED:
        return _invalid(request, 410 if complaint is not None else 404)
    form = StatementForm(request.POST or None)
    context = {"complaint": complaint, "review": complaint.review, "form": form}
    if request.method == "POST" and form.is_valid():
        if complaints.complaint_statement_submit(
            token=token, statement=form.cleaned_data["statement"]
        ):
            return render(request, "public/moderation/statement_done.html", context)
        return _invalid(request, 410)
    status = 400 if request.method == "POST" else 200
    return render(request, "public/moderation/statement_form.html", context, status=status)


# --- Customer dialogue (R22, 004 §8.3) ----------------------------------------------------------


class ReplyForm(forms.Form):
    text = forms.CharField(
        label=_("Your answer"), max_length=dialogue.MAX_MESSAGE, widget=forms.Textarea()
    )


def _dialogue_page(request, thread: DialogueThread, form: ReplyForm, status: int = 200):
    context = {
        "thread": thread,
        "shop": thread.shop,
        "messages": dialogue.messages_for_evaluator(thread),
        "form": form,
    }
    return render(request, "public/moderation/dialogue.html", context, status=status)


@private_page
@require_http_methods(["GET", "POST"])
def dialogue_page(request, token: str):
    thread = dialogue.thread_from_token(token)
    if thread is None:
        return _invalid(request)
    form = ReplyForm(request.POST if request.POST.get("action") == "reply" else None)
    if request.method == "POST" and thread.status == DialogueThread.Status.OPEN:
        if request.POST.get("action") == "end":
            thread = dialogue.dialogue_end(thread=thread, by=DialogueThread.EndedBy.EVALUATOR)
        elif form.is_valid():
            dialogue.dialogue_evaluator_reply(thread=thread, text=form.cleaned_data["text"])
            form = ReplyForm()
        else:
            return _dialogue_page(request, thread, form, status=400)
    return _dialogue_page(request, dialogue.thread_from_token(token), form)


# --- Replacing a review (R21) ---------------------------------------------------------------------


class ReplaceForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=_("Your rating"),
        choices=[(value, f"{value} – {label}") for value, label in reversed(Rating.choices)],
        coerce=int,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Your experience"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 6}),
    )


@private_page
@require_http_methods(["GET", "POST"])
def replace_review(request, token: str):
    offer = tokens.offer_from_token(token)
    if not services.replacement_offer_valid(offer):
        return _invalid(request, 410 if offer is not None else 404)
    form = ReplaceForm(request.POST or None)
    context = {"shop": offer.shop, "offer": offer, "form": form}
    if request.method == "POST" and form.is_valid():
        review = services.review_replace(
            offer_id=offer.pk,
            company_id=offer.company_id,
            rating=form.cleaned_data["rating"],
            comment=form.cleaned_data["comment"],
            client_ip=client_ip(request),
        )
        if review is None:
            return _invalid(request, 410)
        context["review"] = review
        return render(request, "public/moderation/replace_done.html", context)
    status = 400 if request.method == "POST" else 200
    return render(request, "public/moderation/replace_form.html", context, status=status)
