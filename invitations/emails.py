"""Invitation and reminder emails: rendering, headers and the unsubscribe link (R6, R7, R41).

The platform's own templates (``templates/emails/<locale>/``) are trusted Django templates. A
shop may override subject and text per kind and language; an override is company-authored input,
so it is rendered in a Jinja sandbox that sees only the documented variables, allows no attribute
access and no calls, and its output is placed into the trusted HTML layout as escaped text.
Every value that can reach a header is reduced to one line first (IN-6).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import formataddr
from functools import partial
from urllib.parse import urlsplit

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from jinja2 import StrictUndefined, TemplateError, nodes
from jinja2.sandbox import SandboxedEnvironment

from companies.models import Shop
from invitations import tokens
from invitations.emails_compiled import CompiledTemplates
from invitations.models import EmailTemplate, Invitation, email_digest
from privacy.selectors import retention_days, retention_days_for
from privacy.tokens import erasure_url

logger = logging.getLogger(__name__)

SUPPORTED_LOCALES = ("en", "de")
DEFAULT_LOCALE = "en"
PLATFORM_NAME = "Review platform"
# The only names an override may use; the template editor lists them.
OVERRIDE_VARIABLES = (
    "shop_name",
    "first_name",
    "last_name",
    "order_id",
    "order_date",
    "rating_link",
    "valid_until",
    "unsubscribe_link",
)
OVERRIDE_FILTERS = ("upper", "lower", "title", "capitalize", "trim", "default")
SUBJECT_MAX_LENGTH = 200
BODY_MAX_LENGTH = 5000
UNSUBSCRIBE_SALT = "invitations.unsubscribe"

# Control characters, line and paragraph separators, and bidi overrides (IN-4, IN-6).
_UNSAFE_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def one_line(value: str, limit: int = 300) -> str:
    """``value`` without control characters or line breaks, whitespace collapsed (IN-6)."""
    return " ".join(_UNSAFE_CHARACTERS.sub(" ", unicodedata.normalize("NFC", value)).split())[
        :limit
    ]


def email_locale(invitation: Invitation) -> str:
    """The order's language if we ship it, else the shop's default, else English."""
    for candidate in (invitation.order.locale, invitation.shop.default_locale):
        primary = (candidate or "").replace("_", "-").split("-")[0].lower()
        if primary in SUPPORTED_LOCALES:
            return primary
    return DEFAULT_LOCALE


def template_kind(kind: str) -> str:
    """``invitation`` for the first email, ``reminder`` for ``reminder_<n>``."""
    if kind == EmailTemplate.Kind.INVITATION:
        return EmailTemplate.Kind.INVITATION
    return EmailTemplate.Kind.REMINDER


def message_id_for(invitation: Invitation, kind: str) -> str:
    """One fixed Message-ID per email, the same on every retry and resend (ID-4, FA-1)."""
    return f"<invitation-{invitation.public_id}-{kind}@{_mail_domain()}>"


def _mail_domain() -> str:
    _, _, domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")
    return domain.strip("<> ") or urlsplit(settings.SITE_URL).hostname or "localhost"


# --- Unsubscribe links -------------------------------------------------------------------------


def unsubscribe_token(*, shop_id: int, email: str) -> str:
    """A signed reference to (shop, address digest): the URL never carries the address."""
    return signing.dumps({"s": shop_id, "d": email_digest(email)}, salt=UNSUBSCRIBE_SALT)


def unsubscribe_url(*, shop_id: int, email: str) -> str:
    return f"{settings.SITE_URL}/u/{unsubscribe_token(shop_id=shop_id, email=email)}/"


def unsubscribe_token_read(token: str) -> tuple[int, str] | None:
    """``(shop_id, email_digest)`` of a genuine token, else None."""
    try:
        payload = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict):
        return None
    shop_id, digest = payload.get("s"), payload.get("d")
    if not isinstance(shop_id, int) or not isinstance(digest, str) or len(digest) != 64:
        return None
    return shop_id, digest


def unsubscribe_target(token: str) -> tuple[Shop, str] | None:
    """The shop and address digest a genuine unsubscribe token names, else None."""
    parsed = unsubscribe_token_read(token)
    if parsed is None:
        return None
    shop_id, digest = parsed
    # Cross-tenant by nature: the signed token in a public URL names the shop.
    shop = Shop.objects.unscoped().filter(pk=shop_id).first()
    return (shop, digest) if shop is not None else None


# --- Context -----------------------------------------------------------------------------------


def _local_date(value, dates: dict | None = None) -> str:
    """``dates``: a batch's dates formatted so far, by language and day (they repeat)."""
    day = timezone.localtime(value).date()
    if dates is None:
        return formats.date_format(day, "DATE_FORMAT")
    key = (translation.get_language(), day)
    if key not in dates:
        dates[key] = formats.date_format(day, "DATE_FORMAT")
    return dates[key]


def email_context(
    invitation: Invitation, *, locale: str, dates: dict | None = None
) -> dict[str, str]:
    """The documented variables, as plain one-line strings (the only thing overrides see)."""
    with translation.override(locale):
        order_date = _local_date(invitation.order.ordered_at, dates)
        valid_until = _local_date(invitation.expires_at, dates)
    return {
        "shop_name": one_line(invitation.shop.name),
        "first_name": one_line(invitation.first_name),
        "last_name": one_line(invitation.last_name),
        "order_id": one_line(invitation.order.order_id),
        "order_date": order_date,
        "rating_link": tokens.rating_url(invitation.token_nonce),
        "valid_until": valid_until,
        "unsubscribe_link": unsubscribe_url(shop_id=invitation.shop_id, email=invitation.email),
    }


def _logo_url(shop: Shop) -> str:
    if not shop.logo:
        return ""
    url = shop.logo.url
    return url if urlsplit(url).scheme else f"{settings.SITE_URL}{url}"


# --- Rendering ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchLookups:
    """What the emails of one send batch share, read in two queries instead of two per email:
    each shop's overrides and each company's retention period (R11); and what rendering repeats
    from one email to the next: the templates, compiled once for the batch (``emails_compiled``),
    and the dates, formatted once per language and day."""

    overrides: dict[tuple[int, int, str, str], EmailTemplate]
    retention: dict[int, int]
    templates: CompiledTemplates = dataclasses.field(
        default_factory=CompiledTemplates, compare=False
    )
    dates: dict = dataclasses.field(default_factory=dict, compare=False)

    @classmethod
    def read(cls, invitations: Iterable[Invitation]) -> BatchLookups:
        invitations = list(invitations)
        shop_ids = {invitation.shop_id for invitation in invitations}
        company_ids = {invitation.company_id for invitation in invitations}
        # Deliberately cross-tenant: a batch holds several companies' invitations; every row is
        # looked up again by its own company and shop (``override``, ``retention_days``).
        overrides = EmailTemplate.objects.unscoped().filter(shop_id__in=shop_ids)
        return cls(
            overrides={(t.company_id, t.shop_id, t.kind, t.locale): t for t in overrides},
            retention=retention_days_for(company_ids=company_ids),
        )

    def override(self, invitation: Invitation, *, kind: str, locale: str) -> EmailTemplate | None:
        return self.overrides.get((invitation.company_id, invitation.shop_id, kind, locale))

    def retention_days(self, company_id: int) -> int:
        """The period of a company of the batch, from the batch's one read."""
        return self.retention[company_id]


def render_email(
    invitation: Invitation, *, kind: str, lookups: BatchLookups | None = None
) -> RenderedEmail:
    """Subject, text and HTML of one email, in the evaluator's language."""
    return _render(invitation, kind=kind, lookups=lookups)[0]


def _render(
    invitation: Invitation, *, kind: str, lookups: BatchLookups | None
) -> tuple[RenderedEmail, dict[str, str]]:
    locale = email_locale(invitation)
    dates = None if lookups is None else lookups.dates
    context = email_context(invitation, locale=locale, dates=dates)
    if lookups is None:
        days = retention_days(invitation.company_id)
        override = _override_for(invitation, kind=template_kind(kind), locale=locale)
        templates = None
    else:
        days = lookups.retention_days(invitation.company_id)
        override = lookups.override(invitation, kind=template_kind(kind), locale=locale)
        templates = lookups.templates
    layout = {
        **context,
        "locale": locale,
        "logo_url": _logo_url(invitation.shop),
        "retention_days": days,
        # R42, GD-1: every email to an evaluator links to erasing their data.
        "erasure_link": erasure_url(invitation=invitation),
    }
    with translation.override(locale):
        if override is not None:
            rendered = _render_override(
                override, context=context, layout=layout, templates=templates
            )
            if rendered is not None:
                return rendered, context
        return _render_default(
            template_kind(kind), locale=locale, layout=layout, templates=templates
        ), context


def rendering_preload() -> None:
    """Load what rendering the first email would: the URL patterns (erasure links), each
    locale's translations and our templates. Called in the Celery worker's main process before
    it forks, so its pool processes share all of it instead of loading it on their first email.
    Reads no database."""
    reverse("privacy:erase", args=["preload"])
    days = settings.PERSONAL_DATA_RETENTION_DAYS
    layout = {name: "" for name in OVERRIDE_VARIABLES} | {"retention_days": days}
    for locale in SUPPORTED_LOCALES:
        with translation.override(locale):
            for kind in EmailTemplate.Kind.values:
                _render_default(kind, locale=locale, layout={**layout, "locale": locale})
            render_to_string(f"emails/{locale}/custom.txt", {**layout, "custom_body": ""})
            render_to_string(f"emails/{locale}/custom.html", {**layout, "custom_body": ""})


def _override_for(invitation: Invitation, *, kind: str, locale: str) -> EmailTemplate | None:
    return (
        EmailTemplate.objects.for_company(invitation.company_id)
        .filter(shop_id=invitation.shop_id, kind=kind, locale=locale)
        .first()
    )


def _render_default(
    kind: str, *, locale: str, layout: dict, templates: CompiledTemplates | None = None
) -> RenderedEmail:
    """``templates``: a batch's compiled templates; the output is the same either way."""
    render = render_to_string if templates is None else templates.render
    subject = one_line(render(f"emails/{locale}/{kind}_subject.txt", layout))
    layout = {**layout, "subject": subject}
    return RenderedEmail(
        subject=subject[:SUBJECT_MAX_LENGTH],
        text=render(f"emails/{locale}/{kind}.txt", layout),
        html=render(f"emails/{locale}/{kind}.html", layout),
    )


def _render_override(
    template: EmailTemplate,
    *,
    context: dict[str, str],
    layout: dict,
    templates: CompiledTemplates | None = None,
) -> RenderedEmail | None:
    """The shop's text in the trusted layout; None (use ours) if it cannot render."""
    if templates is None:
        render, sandboxed = render_to_string, _SANDBOX.from_string
    else:
        render = templates.render
        sandboxed = partial(templates.sandboxed_template, compile_source=_SANDBOX.from_string)
    try:
        subject = one_line(sandboxed(template.subject).render(context))
        body = sandboxed(template.body).render(context).strip()
    except TemplateError:
        # Saved templates are validated; this guards rows written around the service.
        logger.warning("shop %s: email template %s failed to render", template.shop_id, template.pk)
        return None
    locale = layout["locale"]
    layout = {**layout, "subject": subject, "custom_body": body}
    layout["link_in_body"] = context["rating_link"] in body
    return RenderedEmail(
        subject=subject[:SUBJECT_MAX_LENGTH],
        text=render(f"emails/{locale}/custom.txt", layout),
        html=render(f"emails/{locale}/custom.html", layout),
    )


# --- The message -------------------------------------------------------------------------------


def from_address(shop: Shop) -> str:
    """``"<shop> via <platform>" <DEFAULT_FROM_EMAIL>``, the display name on one safe line."""
    name = one_line(f"{one_line(shop.name, 120)} via {PLATFORM_NAME}").replace('"', "'")
    _, address = _split_address(settings.DEFAULT_FROM_EMAIL)
    return formataddr((name, address))


def _split_address(value: str) -> tuple[str, str]:
    match = re.match(r"^\s*(.*?)\s*<([^>]+)>\s*$", value)
    return (match.group(1), match.group(2)) if match else ("", value.strip())


def invitation_message(
    invitation: Invitation, *, kind: str, connection=None, lookups: BatchLookups | None = None
) -> EmailMultiAlternatives:
    """The email of ``kind`` for ``invitation``, with its fixed Message-ID and RFC 8058 headers.

    ``lookups``: a send batch's shared reads (``BatchLookups.read``); without, two queries.
    """
    rendered, context = _render(invitation, kind=kind, lookups=lookups)
    unsubscribe = context["unsubscribe_link"]
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=from_address(invitation.shop),
        to=[invitation.email],
        connection=connection,
        headers={
            "Message-ID": message_id_for(invitation, kind),
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(rendered.html, "text/html")
    return message


# --- Shop overrides ----------------------------------------------------------------------------


class _OverrideSandbox(SandboxedEnvironment):
    """Strings in, strings out: no attribute access and no calls, whatever the object."""

    def is_safe_attribute(self, obj, attr, value) -> bool:
        return False

    def is_safe_callable(self, obj) -> bool:
        return False


_SANDBOX = _OverrideSandbox(undefined=StrictUndefined, autoescape=False)
_SANDBOX.globals.clear()
_SANDBOX.filters = {name: _SANDBOX.filters[name] for name in OVERRIDE_FILTERS}
_SANDBOX.tests = {}

# Output, text, variables, literals, filters and if/else: nothing that loops, calls or imports.
_ALLOWED_NODES = (
    nodes.Output,
    nodes.TemplateData,
    nodes.Name,
    nodes.Const,
    nodes.If,
    nodes.Filter,
    nodes.CondExpr,
    nodes.Not,
    nodes.And,
    nodes.Or,
    nodes.Compare,
    nodes.Operand,
    nodes.Concat,
)
_SAMPLE_CONTEXT = {name: f"sample {name}" for name in OVERRIDE_VARIABLES}


def override_errors(source: str) -> list[str]:
    """What is wrong with an override's subject or body, in words a shop owner understands."""
    try:
        tree = _SANDBOX.parse(source)
    except TemplateError as exc:
        return [f"The template has a syntax error: {exc.message}."]
    errors = _node_errors(tree)
    if not errors:
        try:
            _SANDBOX.from_string(source).render(_SAMPLE_CONTEXT)
        except TemplateError as exc:
            errors.append(f"The template cannot be rendered: {exc.message}.")
    return errors


def _node_errors(tree: nodes.Template) -> list[str]:
    errors: list[str] = []
    unknown = sorted({n.name for n in tree.find_all(nodes.Name)} - set(OVERRIDE_VARIABLES))
    if unknown:
        errors.append(
            f"Unknown variable(s): {', '.join(unknown)}. "
            f"You can use: {', '.join(OVERRIDE_VARIABLES)}."
        )
    for node in tree.find_all(nodes.Node):
        if isinstance(node, nodes.Getattr | nodes.Getitem):
            errors.append("Attribute access (a dot or brackets after a variable) is not allowed.")
        elif isinstance(node, nodes.Filter) and node.name not in OVERRIDE_FILTERS:
            errors.append(
                f"The filter '{node.name}' is not allowed; use {', '.join(OVERRIDE_FILTERS)}."
            )
        elif not isinstance(node, _ALLOWED_NODES):
            errors.append(
                "Only {{ variables }}, filters and {% if %} … {% else %} … {% endif %} are allowed."
            )
    return list(dict.fromkeys(errors))


def _template_errors(*, kind: str, locale: str, subject: str, body: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if kind not in EmailTemplate.Kind.values:
        errors["kind"] = [f"Choose one of: {', '.join(EmailTemplate.Kind.values)}."]
    if locale not in SUPPORTED_LOCALES:
        errors["locale"] = [f"Choose one of: {', '.join(SUPPORTED_LOCALES)}."]
    subject_errors = override_errors(subject)
    if "\r" in subject or "\n" in subject:
        subject_errors.insert(0, "The subject must be a single line.")
    if not subject.strip() or len(subject) > SUBJECT_MAX_LENGTH:
        subject_errors.insert(0, f"Write a subject of 1 to {SUBJECT_MAX_LENGTH} characters.")
    body_errors = override_errors(body)
    if not body.strip() or len(body) > BODY_MAX_LENGTH:
        body_errors.insert(0, f"Write a text of 1 to {BODY_MAX_LENGTH} characters.")
    for field, messages in (("subject", subject_errors), ("body", body_errors)):
        if messages:
            errors[field] = messages
    return errors


def email_template_save(
    *, shop: Shop, kind: str, locale: str, subject: str, body: str
) -> EmailTemplate:
    """Store a shop's own subject and text for one kind and language, once they validate."""
    errors = _template_errors(kind=kind, locale=locale, subject=subject, body=body)
    if errors:
        raise ValidationError(errors)
    template, _ = EmailTemplate.objects.for_company(shop.company_id).update_or_create(
        shop=shop,
        kind=kind,
        locale=locale,
        defaults={"company_id": shop.company_id, "subject": subject, "body": body},
    )
    return template


# --- The backend's template editor: preview, reset, test email ---------------------------------

# Starting drafts for the editor, in the email's own language (not UI text, so not translated).
STARTER_DRAFTS: dict[tuple[str, str], tuple[str, str]] = {
    ("invitation", "en"): (
        "How was your order at {{ shop_name }}?",
        "Hello {{ first_name }},\n\nthank you for your order {{ order_id }} of {{ order_date }}. "
        "How satisfied are you? Please rate your purchase:\n{{ rating_link }}\n\n"
        "The link is valid until {{ valid_until }}.",
    ),
    ("reminder", "en"): (
        "A reminder: how was your order at {{ shop_name }}?",
        "Hello {{ first_name }},\n\nyou have not rated your order {{ order_id }} yet. "
        "It takes a minute:\n{{ rating_link }}\n\nThe link is valid until {{ valid_until }}.",
    ),
    ("invitation", "de"): (
        "Wie war Ihre Bestellung bei {{ shop_name }}?",
        "Hallo {{ first_name }},\n\nvielen Dank für Ihre Bestellung {{ order_id }} vom "
        "{{ order_date }}. Wie zufrieden sind Sie? Bitte bewerten Sie Ihren Einkauf:\n"
        "{{ rating_link }}\n\nDer Link ist gültig bis {{ valid_until }}.",
    ),
    ("reminder", "de"): (
        "Erinnerung: Wie war Ihre Bestellung bei {{ shop_name }}?",
        "Hallo {{ first_name }},\n\nSie haben Ihre Bestellung {{ order_id }} noch nicht "
        "bewertet. Es dauert nur eine Minute:\n{{ rating_link }}\n\n"
        "Der Link ist gültig bis {{ valid_until }}.",
    ),
}
_SAMPLE_NAMES = {"en": ("Alex", "Example"), "de": ("Alex", "Beispiel")}


def sample_context(*, shop: Shop, locale: str) -> dict[str, str]:
    """The documented variables filled with sample values, as an evaluator of ``shop`` sees them."""
    now = timezone.now()
    first_name, last_name = _SAMPLE_NAMES.get(locale, _SAMPLE_NAMES[DEFAULT_LOCALE])
    with translation.override(locale):
        order_date = _local_date(now)
        valid_until = _local_date(now + relativedelta(months=6))
    return {
        "shop_name": one_line(shop.name),
        "first_name": first_name,
        "last_name": last_name,
        "order_id": "SAMPLE-1001",
        "order_date": order_date,
        "rating_link": f"{settings.SITE_URL}/r/sample-link-for-preview/",
        "valid_until": valid_until,
        "unsubscribe_link": f"{settings.SITE_URL}/u/sample-link-for-preview/",
    }


def email_template_preview(
    *, shop: Shop, kind: str, locale: str, subject: str, body: str
) -> tuple[RenderedEmail | None, dict[str, list[str]]]:
    """A draft rendered with sample data through the same sandbox and layout as real emails,
    or the reasons it cannot be, by field (``subject``, ``body``, ``kind``, ``locale``)."""
    errors = _template_errors(kind=kind, locale=locale, subject=subject, body=body)
    if errors:
        return None, errors
    context = sample_context(shop=shop, locale=locale)
    layout = {
        **context,
        "locale": locale,
        "logo_url": _logo_url(shop),
        "retention_days": settings.PERSONAL_DATA_RETENTION_DAYS,
    }
    draft = EmailTemplate(shop=shop, kind=kind, locale=locale, subject=subject, body=body)
    with translation.override(locale):
        rendered = _render_override(draft, context=context, layout=layout)
    if rendered is None:
        return None, {"body": ["The template cannot be rendered."]}
    return rendered, {}


def email_template_reset(*, shop: Shop, kind: str, locale: str) -> bool:
    """Back to the platform's text for one kind and language; True if an override was removed."""
    deleted, _ = (
        EmailTemplate.objects.for_company(shop.company_id)
        .filter(shop=shop, kind=kind, locale=locale)
        .delete()
    )
    return deleted > 0


def email_template_send_test(*, shop: Shop, rendered: RenderedEmail, to: str) -> None:
    """The rendered preview, to the signed-in user's own address only (never to evaluators)."""
    message = EmailMultiAlternatives(
        subject=one_line(f"[Test] {rendered.subject}", SUBJECT_MAX_LENGTH + 7),
        body=rendered.text,
        from_email=from_address(shop),
        to=[to],
        headers={"Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(rendered.html, "text/html")
    message.send()
