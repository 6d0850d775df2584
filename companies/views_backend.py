"""The customer backend under /backend/ (R2, R3, TI-1).

``TenantScopeMiddleware`` has already entered the scope of the session's company; every view
here goes through :func:`require_role`, which checks login, membership, role and company status.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from companies.forms_accounts import RoleForm, SwitchCompanyForm, SwitchShopForm, TeamInviteForm
from companies.middleware import SESSION_COMPANY_KEY, SESSION_SHOP_KEY
from companies.models import ApiKey, Company, Membership, Role, Shop
from companies.selectors import (
    access_api_key,
    access_membership,
    access_shop,
    companies_for_user,
    membership_for,
)
from companies.selectors_dashboard import shop_dashboard
from companies.services import api_key_create, api_key_revoke, interface_password_rotate
from companies.services_accounts import (
    LastOwnerError,
    membership_remove,
    membership_role_change,
    team_invite,
)
from guidance.selectors import tips_for
from seals import scoring
from seals.models import SealStatus, Tier

# R2: each role can do everything the roles below it can.
ROLE_RANK = {Role.VIEWER: 1, Role.MANAGER: 2, Role.OWNER: 3}
NEXT_TIER = {
    scoring.STANDARD: scoring.BRONZE,
    scoring.BRONZE: scoring.SILVER,
    scoring.SILVER: scoring.GOLD,
}


def require_role(minimum: str, *, blocked_ok: bool = False):
    """Backend views for members of the session's company with at least ``minimum`` role.

    ``blocked_ok`` lets a view run for a blocked or ended company (only the company switcher).
    """

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            language = translation.get_language_from_request(request)
            with translation.override(language):
                return _checked(view, minimum, blocked_ok, request, *args, **kwargs)

        wrapper.minimum_role = minimum
        return wrapper

    return decorator


def _checked(view, minimum, blocked_ok, request, *args, **kwargs):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    company = request.company
    if company is None:
        return render(request, "backend/no_company.html", status=403)
    if company.status != Company.Status.ACTIVE and not blocked_ok:
        context = backend_context(request, company=company)
        return render(request, "backend/blocked.html", context, status=403)
    membership = membership_for(user=request.user, company=company)
    if membership is None:  # removed between the middleware's check and now
        raise Http404
    if ROLE_RANK[membership.role] < ROLE_RANK[minimum]:
        return render(request, "backend/forbidden.html", {"membership": membership}, status=403)
    request.membership = membership
    request.shops = list(Shop.objects.for_company(company).order_by("name", "pk"))
    request.shop = _session_shop(request)
    return view(request, *args, **kwargs)


def _session_shop(request) -> Shop | None:
    """The shop the backend's per-shop pages work on: the one chosen in the session when it
    belongs to the session's company, else the company's first shop (None without shops)."""
    chosen = request.session.get(SESSION_SHOP_KEY)
    for shop in request.shops:
        if shop.pk == chosen:
            return shop
    return request.shops[0] if request.shops else None


def backend_context(request, **extra) -> dict:
    return {"companies": list(companies_for_user(request.user).order_by("name")), **extra}


@dataclass(frozen=True)
class NextStep:
    """What the next tier needs (R24): a fact, not a promise."""

    tier: str  # the tier's translated name
    reviews_needed: int | None
    average_needed: str


def _next_step(seal: SealStatus | None) -> NextStep | None:
    count, total = (seal.review_count, seal.rating_sum) if seal else (0, 0)
    tier = seal.tier if seal else scoring.STANDARD
    target = NEXT_TIER.get(tier)
    if target is None:
        return None
    needed = scoring.reviews_needed_for(count=count, total=total, tier=target)
    tenths = dict(scoring.THRESHOLDS)[target]
    return NextStep(Tier(target).label, needed, f"{tenths // 10}.{tenths % 10}")


@require_role(Role.VIEWER)
def dashboard(request):
    """The shop chosen in the header switcher: seal, trend, stars, funnel and tips (R24, R48).

    Queries: session, user, company (middleware), company list (switcher), membership, shops
    (require_role), then seal, monthly trend, review facts, order facts (selectors_dashboard)
    and the user's tip dismissals: the same number for one review or thousands.
    """
    shop = request.shop
    context = backend_context(request, shop=shop)
    if shop is not None:
        data = shop_dashboard(shop=shop)
        context.update(
            data=data,
            next_step=_next_step(data.seal),
            tips=tips_for(user=request.user, shop=shop, facts=data.tip_facts),
            tip_facts=data.tip_facts,
        )
    return render(request, "backend/dashboard.html", context)


@require_POST
@require_role(Role.VIEWER, blocked_ok=True)
def switch_company(request):
    """Choose the company the backend works on; a foreign id is refused like a missing one."""
    form = SwitchCompanyForm(request.POST)
    if not form.is_valid():
        raise Http404
    company = companies_for_user(request.user).filter(pk=form.cleaned_data["company_id"]).first()
    if company is None:
        raise Http404
    request.session[SESSION_COMPANY_KEY] = company.pk
    messages.success(request, _("You are now working on %(company)s.") % {"company": company.name})
    return redirect("backend:dashboard")


@require_POST
@require_role(Role.VIEWER)
def switch_shop(request):
    """Choose the shop the per-shop pages work on; another company's shop id is a 404."""
    form = SwitchShopForm(request.POST)
    if not form.is_valid():
        raise Http404
    shop = access_shop(company=request.company, shop_id=form.cleaned_data["shop_id"])
    request.session[SESSION_SHOP_KEY] = shop.pk
    messages.success(request, _("You are now working on the shop %(shop)s.") % {"shop": shop.name})
    target = form.cleaned_data.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}) and (
        target.startswith("/backend/")
    ):
        return redirect(target)
    return redirect("backend:dashboard")


# --- Team (R2) ----------------------------------------------------------------------------------


@require_role(Role.VIEWER)
def team(request):
    members = (
        Membership.objects.for_company(request.company)
        .select_related("user")
        .order_by("user__email")
    )
    context = backend_context(
        request,
        members=list(members),
        invite_form=TeamInviteForm(company=request.company),
        roles=Role.choices,
        is_owner=request.membership.role == Role.OWNER,
    )
    return render(request, "backend/team.html", context)


@require_POST
@require_role(Role.OWNER)
def team_invite_view(request):
    form = TeamInviteForm(request.POST, company=request.company)
    if not form.is_valid():
        members = Membership.objects.for_company(request.company).select_related("user")
        context = backend_context(
            request, members=list(members), invite_form=form, roles=Role.choices, is_owner=True
        )
        return render(request, "backend/team.html", context, status=400)
    email = form.cleaned_data["email"]
    team_invite(
        company=request.company,
        email=email,
        role=form.cleaned_data["role"],
        invited_by=request.user,
    )
    messages.success(request, _("Invitation sent to %(email)s.") % {"email": email})
    return redirect("backend:team")


@require_POST
@require_role(Role.OWNER)
def team_role(request, membership_id: int):
    membership = access_membership(company=request.company, membership_id=membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        raise Http404
    try:
        membership_role_change(membership=membership, role=form.cleaned_data["role"])
    except LastOwnerError:
        messages.error(request, _("The company needs at least one owner."))
    else:
        messages.success(
            request,
            _("%(email)s is now %(role)s.")
            % {"email": membership.user.email, "role": Role(form.cleaned_data["role"]).label},
        )
    return redirect("backend:team")


@require_POST
@require_role(Role.OWNER)
def team_remove(request, membership_id: int):
    membership = access_membership(company=request.company, membership_id=membership_id)
    try:
        membership_remove(membership=membership)
    except LastOwnerError:
        messages.error(request, _("The last owner cannot be removed."))
    else:
        messages.success(
            request, _("%(email)s was removed from the team.") % {"email": membership.user.email}
        )
    return redirect("backend:team")


# --- Integration (R2, R3, AU-6) -----------------------------------------------------------------

# A secret created by a POST waits here for the next GET of the integration page, which shows
# it once and removes it; it never travels in a URL.
SESSION_ONE_TIME = "backend_integration_once"
EKOMI_BASE_URL = "https://api.ekomi.de/v3/"
PRODUCT_PLACEHOLDER = "PRODUCT-ID"


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)


@dataclass(frozen=True)
class ShopIntegration:
    shop: Shop
    api_keys: list[ApiKey]
    snippets: list[tuple[str, str]]  # (title, HTML to copy)
    feed_url: str
    seal_url: str


def _public_url(name: str, slug: str) -> str:
    return settings.SITE_URL + reverse(name, kwargs={"slug": slug})


def integration_snippets(shop: Shop) -> tuple[list[tuple[str, str]], str, str]:
    """The copy-paste HTML for ``shop``: everything escaped, built from SITE_URL and the slug."""
    certificate = _public_url("seals:certificate", shop.slug)
    seal = _public_url("seals:seal-svg", shop.slug)
    feed = _public_url("seals:product-ratings-feed", shop.slug)
    link_text = _("Customer reviews of %(shop)s") % {"shop": shop.name}
    widget = format_html(
        '<div data-review-widget="{}">\n  <a href="{}">{}</a>\n</div>\n'
        '<script src="{}" async></script>',
        shop.slug,
        certificate,
        link_text,
        _public_url("seals:widget-js", shop.slug),
    )
    iframe = format_html(
        '<iframe src="{}" title="{}" width="100%" height="420" loading="lazy"></iframe>',
        _public_url("seals:widget-frame", shop.slug),
        link_text,
    )
    seal_tag = format_html('<a href="{}"><img src="{}" alt="{}"></a>', certificate, seal, link_text)
    product_stars = format_html(
        '<div data-review-widget="{}" data-product-id="{}">\n  <a href="{}">{}</a>\n</div>\n'
        '<script src="{}?product_id={}" async></script>',
        shop.slug,
        PRODUCT_PLACEHOLDER,
        certificate,
        link_text,
        _public_url("seals:widget-js", shop.slug),
        PRODUCT_PLACEHOLDER,
    )
    snippets = [
        (_("Widget (script)"), str(widget)),
        (_("Widget (iframe)"), str(iframe)),
        (_("Seal image with a link to the certificate page"), str(seal_tag)),
        (
            _("Product stars for a product page (replace %(placeholder)s by the product id)")
            % {"placeholder": PRODUCT_PLACEHOLDER},
            str(product_stars),
        ),
    ]
    return snippets, feed, seal


def _integration_rows(company: Company) -> list[ShopIntegration]:
    keys: dict[int, list[ApiKey]] = {}
    for key in ApiKey.objects.for_company(company).order_by("-created_at", "-pk"):
        keys.setdefault(key.shop_id, []).append(key)
    rows = []
    for shop in Shop.objects.for_company(company).order_by("name"):
        snippets, feed, seal = integration_snippets(shop)
        rows.append(ShopIntegration(shop, keys.get(shop.pk, []), snippets, feed, seal))
    return rows


def _confirmed(request) -> bool:
    if request.POST.get("confirm") == "yes":
        return True
    messages.error(request, _("Nothing was changed: please confirm the action."))
    return False


@never_cache
@require_safe
@require_role(Role.VIEWER)
def integration(request):
    """API keys, the eKomi interface and the snippets of every shop; a secret created by the
    previous POST is shown here once (R3, AU-6). Never cached: the page may carry a secret."""
    secret = request.session.pop(SESSION_ONE_TIME, None)
    context = backend_context(
        request,
        rows=_integration_rows(request.company),
        secret=secret,
        key_form=ApiKeyCreateForm(),
        is_owner=request.membership.role == Role.OWNER,
        site_url=settings.SITE_URL,
        ekomi_base_url=EKOMI_BASE_URL,
        compat_base_url=settings.SITE_URL + "/v3/",
    )
    return render(request, "backend/integration.html", context)


@never_cache
@require_POST
@require_role(Role.OWNER)
def integration_key_create(request, shop_id: int):
    shop = access_shop(company=request.company, shop_id=shop_id)
    form = ApiKeyCreateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Please give the new API key a name (up to 100 characters)."))
        return redirect("backend:integration")
    key, raw = api_key_create(shop=shop, name=form.cleaned_data["name"], created_by=request.user)
    request.session[SESSION_ONE_TIME] = {
        "kind": "api_key",
        "shop": shop.name,
        "label": key.name,
        "value": raw,
    }
    return redirect("backend:integration")


@never_cache
@require_POST
@require_role(Role.OWNER)
def integration_key_revoke(request, api_key_id: int):
    key = access_api_key(company=request.company, api_key_id=api_key_id)
    if _confirmed(request):
        api_key_revoke(api_key=key)
        messages.success(request, _("The API key %(name)s was revoked.") % {"name": key.name})
    return redirect("backend:integration")


@never_cache
@require_POST
@require_role(Role.OWNER)
def integration_password_rotate(request, shop_id: int):
    shop = access_shop(company=request.company, shop_id=shop_id)
    if _confirmed(request):
        password = interface_password_rotate(shop=shop)
        request.session[SESSION_ONE_TIME] = {
            "kind": "interface_password",
            "shop": shop.name,
            "label": shop.interface_id,
            "value": password,
        }
    return redirect("backend:integration")
