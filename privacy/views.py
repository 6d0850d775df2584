"""The evaluator erases their own data from a link in any email we sent them (R42, GD-1).

GET shows what happens and asks for a choice (anonymise or delete the review) and a
confirmation; POST erases through ``moderation.erasure`` (averages and seals are recomputed,
the moderation log keeps only public ids). Nothing is cached and no Referer leaves the page.
"""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from companies.models import Company
from moderation import erasure
from privacy.forms import SelfErasureForm
from privacy.tokens import erasure_target


def _invalid(request, status: int = 404):
    return render(request, "public/moderation/link_invalid.html", status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def erase(request, token: str):
    target = erasure_target(token)
    company = Company.objects.filter(pk=target.company_id).first() if target is not None else None
    if company is None:
        return _invalid(request)
    form = SelfErasureForm(request.POST or None)
    context = {"company": company, "form": form}
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                erasure.evaluator_erase(
                    company=company,
                    invitation_id=target.invitation_id,
                    review_id=target.review_id,
                    mode=form.cleaned_data["mode"],
                )
            except erasure.EvaluatorNotFound:
                return _invalid(request, 410)
            response = render(request, "public/privacy/erased.html", context)
            response["Referrer-Policy"] = "no-referrer"
            return response
        status = 400
    response = render(request, "public/privacy/erase.html", context, status=status)
    response["Referrer-Policy"] = "no-referrer"
    return response
