"""Dismissing a general tip on the dashboard (R48): per user and shop, confirmed on the page."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from companies.models import Role
from companies.selectors import access_shop
from companies.views_backend import require_role
from guidance.models import Tip
from guidance.services import tip_dismiss


@require_POST
@require_role(Role.VIEWER)
def tip_dismiss_view(request, shop_id: int, tip: str):
    """Another company's shop, or an unknown tip, is a 404 and changes nothing."""
    shop = access_shop(company=request.company, shop_id=shop_id)
    if tip not in Tip.values:
        raise Http404
    tip_dismiss(user=request.user, shop=shop, tip=tip)
    confirmation = _("The tip was dismissed. It will not be shown to you again for this shop.")
    if request.headers.get("HX-Request") == "true":
        # htmx swaps the tip for this confirmation; a plain form gets the message after redirect.
        return HttpResponse(
            format_html('<p class="bk-messages" role="status">{}</p>', confirmation)
        )
    messages.success(request, confirmation)
    return redirect("backend:dashboard")
