"""``/v3/<method>``: the eKomi API v3 as its clients call it (issue 9, DESIGN.md §5).

GET with a query string (every client found) or POST with form fields. Credentials come as
``auth=<id>|<password>`` or ``interface_id`` + ``interface_pw``; once read they are removed from
the request, so no later log line or error page can show them (AU-6).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl

from django.http import HttpRequest, HttpResponse, QueryDict
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods

from companies.models import Shop
from companies.selectors import shop_for_interface
from companies.tenancy import tenant_scope
from compat import reads, writes
from compat.protocol import (
    ACCESS_DENIED,
    NON_AUTH,
    NON_FUNCTION,
    ApiError,
    Payload,
    charset_of,
    error_response,
    render,
)
from ekomi.logging import redact
from ekomi.ratelimit import limit_exceeded, limit_reached

logger = logging.getLogger(__name__)

SECRET_PARAMS = ("auth", "interface_pw")
MAX_CREDENTIAL = 200


@dataclass(frozen=True)
class Method:
    handler: Callable[[Shop, QueryDict], Payload]
    types: tuple[str, ...]
    default_type: str
    default_charset: str = "utf-8"
    type_error: str = "ERROR: Type is not valid. Possible options: [json] and ([serialized])."


_WRITE = {"types": ("serialized", "json"), "default_type": "serialized"}
_LIST_TYPES = "ERROR: Type is not valid. Possible options: ([csv]), [json] and [serialized]."
METHODS: dict[str, Method] = {
    "putOrder": Method(writes.put_order, **_WRITE),
    "putProduct": Method(writes.put_product, **_WRITE),
    "putClient": Method(writes.put_client, **_WRITE),
    "assignClientOrder": Method(writes.assign_client_order, **_WRITE),
    "putComment": Method(writes.put_comment, **_WRITE),
    "putDialog": Method(writes.put_dialog, **_WRITE),
    "getFeedback": Method(
        reads.get_feedback,
        types=("csv", "json", "serialized"),
        default_type="csv",
        default_charset="iso",
        type_error=_LIST_TYPES,
    ),
    "getProductfeedback": Method(
        reads.get_productfeedback,
        types=("csv", "json", "serialized"),
        default_type="csv",
        type_error="ERROR: Type is not valid. Possible options: [csv], [json], [serialized].",
    ),
    "getSnapshot": Method(
        reads.get_snapshot,
        types=("csv", "json", "serialized"),
        default_type="csv",
        default_charset="iso",
        type_error=_LIST_TYPES,
    ),
    "getSettings": Method(
        reads.get_settings,
        types=("request", "json", "serialized"),
        default_type="request",
        default_charset="iso",
        type_error="ERROR: Type is not valid. Possible options: ([request]), [json], [serialized].",
    ),
    "getAverage": Method(reads.get_average, **_WRITE),
    "getProduct": Method(
        reads.get_product,
        types=("json", "serialized", "csv"),
        default_type="json",
        type_error="ERROR: Type is not valid. Possible options: ([json]), [serialized], [csv].",
    ),
    "getRated": Method(
        reads.get_rated,
        types=("csv", "json", "serialized"),
        default_type="csv",
        type_error=_LIST_TYPES,
    ),
    "getVisitorfeedback": Method(
        reads.get_visitorfeedback,
        types=("csv", "json", "serialized"),
        default_type="csv",
        type_error=_LIST_TYPES,
    ),
    "getDialog": Method(
        reads.get_dialog,
        types=("csv", "json", "serialized"),
        default_type="csv",
        type_error=_LIST_TYPES,
    ),
}


def _query(raw: str) -> QueryDict:
    """The query string as sent: UTF-8, or ISO-8859-1 bytes from clients on charset=iso."""
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        pairs = parse_qsl(raw, keep_blank_values=True, encoding="iso-8859-1")
    params = QueryDict(mutable=True)
    for key, value in pairs:
        params.appendlist(key, value)
    return params


def _params(request: HttpRequest) -> QueryDict:
    params = _query(request.META.get("QUERY_STRING", ""))
    if request.method == "POST":
        params.update(request.POST)
    return params


@sensitive_variables("auth", "password")
def _credentials(params: QueryDict) -> tuple[str, str] | None:
    """(interface id, password) as transmitted, None when nothing was transmitted."""
    auth = params.get("auth") or ""
    if auth:
        # Most clients send a raw pipe, some %7C; a double-encoded one arrives as "%7C".
        separator = "|" if "|" in auth else "%7C"
        interface_id, _sep, password = auth.replace("%7c", "%7C").partition(separator)
        return interface_id.strip(), password
    interface_id = params.get("interface_id") or ""
    password = params.get("interface_pw") or ""
    if not interface_id and not password:
        return None
    return interface_id.strip(), password


def _forget_secrets(request: HttpRequest) -> None:
    """Drop the credentials from the request before anything else can log or display it."""
    for name in ("GET", "POST"):
        cleaned = getattr(request, name).copy()
        for key in SECRET_PARAMS:
            cleaned.pop(key, None)
        setattr(request, name, cleaned)
    request.META["QUERY_STRING"] = redact(request.META.get("QUERY_STRING", ""))


# Wrong interface credentials per client address before we stop checking them.
FAILED_LOGINS = {"scope": "v3-denied", "limit": 20, "window_seconds": 15 * 60}


@sensitive_variables("credentials", "password")
def _authenticate(params: QueryDict, method_name: str) -> Shop:
    credentials = _credentials(params)
    if credentials is None:
        raise ApiError(NON_AUTH)
    interface_id, password = credentials
    shop = None
    if interface_id and password and max(len(interface_id), len(password)) <= MAX_CREDENTIAL:
        shop = shop_for_interface(interface_id, password)
    if shop is None:
        # Never the id: a client that swapped or mangled the pair would put its password here.
        logger.warning("v3 %s: access denied", method_name)
        raise ApiError(ACCESS_DENIED)
    return shop


def _output(method: Method, params: QueryDict) -> tuple[str, str]:
    output = (params.get("type") or method.default_type).strip().lower()
    if output not in method.types:
        raise ApiError(method.type_error)
    return output, charset_of(params, method.default_charset)


@csrf_exempt
@sensitive_post_parameters(*SECRET_PARAMS)
@require_http_methods(["GET", "POST"])
def dispatch(request: HttpRequest, method_name: str) -> HttpResponse:
    params = _params(request)
    _forget_secrets(request)
    method = METHODS.get(method_name)
    try:
        if method is None:
            raise ApiError(NON_FUNCTION)
        if limit_reached(request, **FAILED_LOGINS):
            # Guessing passwords: keep answering like eKomi, but stop checking (AU-6).
            raise ApiError(ACCESS_DENIED)
        try:
            shop = _authenticate(params, method_name)
        except ApiError as exc:
            if exc.text == ACCESS_DENIED:
                limit_exceeded(request, **FAILED_LOGINS)
            raise
        for key in SECRET_PARAMS:  # no handler frame or traceback holds them (AU-6)
            params.pop(key, None)
        output, charset = _output(method, params)
        with tenant_scope(shop.company_id):
            payload = method.handler(shop, params)
    except ApiError as exc:
        return error_response(exc.text)
    return render(payload, output=output, charset=charset)
