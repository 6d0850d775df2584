"""What a send batch hands the SMTP server is what Django would have sent, email by email.

A batch compiles the email templates once (``invitations.emails_compiled``) and writes each
message's bytes itself (``invitations.sending.mime``) instead of rendering every template and
building every MIME tree; the recipient must not be able to tell (ID-4: same headers, same
Message-ID, same text and HTML; R41: the unsubscribe headers; IN-5, IN-6: escaping and one-line
headers). Each test compares the batch's way with Django's on the same input.
"""

from __future__ import annotations

import random
import re
import string

import pytest
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.message import forbid_multi_line_headers, sanitize_address
from django.template import engines
from django.utils import timezone

from companies.models import Shop
from invitations import emails
from invitations.emails_compiled import CompiledTemplates, compile_template
from invitations.models import Invitation
from invitations.sending import invitation_emails_send, mime
from tests import factories
from tests.live.sink import CountingSink, send_to

pytestmark = pytest.mark.django_db

_DATE = re.compile(rb"^Date: [^\r\n]*\r\n", re.MULTILINE)


def loaded(invitation: Invitation) -> Invitation:
    return Invitation.objects.unscoped().select_related("shop", "order").get(pk=invitation.pk)


def django_bytes(message: EmailMultiAlternatives, seed: int) -> bytes:
    random.seed(seed)  # the MIME boundary is random: the same draw for both
    return _DATE.sub(b"", message.message().as_bytes(linesep="\r\n"))


def writer_bytes(message: EmailMultiAlternatives, seed: int) -> bytes:
    random.seed(seed)
    return _DATE.sub(b"", mime.MessageWriter().as_bytes(message))


@pytest.fixture
def same_second(monkeypatch) -> None:
    """The signed links (unsubscribe, erasure) carry the second they were made in; two renders
    of one email compare equal only within one second."""
    monkeypatch.setattr(signing.TimestampSigner, "timestamp", lambda self: "1xV6nu")


@pytest.fixture
def varied(company, shop, same_second) -> list[Invitation]:
    """Invitations that exercise every branch of the templates and headers: both languages,
    with and without a first name and a logo, HTML and quotes in names, a long non-ASCII shop
    name (an encoded, folded subject and sender), an international address."""
    other = factories.ShopFactory(
        company=company, name="Bäckerei Müller & Söhne – Feine Backwaren seit 1902 " * 2
    )
    Shop.objects.unscoped().filter(pk=shop.pk).update(logo="logos/acme.png")
    made = [
        factories.InvitationFactory(shop=shop, order__locale="en"),
        factories.InvitationFactory(shop=shop, order__locale="de", first_name=""),
        factories.InvitationFactory(shop=other, order__locale="de", first_name='<b>"Jö"</b>'),
        factories.InvitationFactory(shop=other, order__locale="en", last_name="O'Neil & Co"),
        factories.InvitationFactory(shop=other, order__locale="de", email="jörg@exämple.de"),
    ]
    return [loaded(invitation) for invitation in made]


def test_it_renders_a_batchs_emails_exactly_as_each_alone(varied):
    """ID-4, IN-5: with the batch's compiled templates every email (both kinds) has the subject,
    text and HTML it has when rendered on its own."""
    lookups = emails.BatchLookups.read(varied)
    for invitation in varied:
        for kind in ("invitation", "reminder_1"):
            alone = emails.render_email(invitation, kind=kind)
            assert emails.render_email(invitation, kind=kind, lookups=lookups) == alone
    compiled = lookups.templates.compiled
    assert compiled and all(template is not None for template in compiled.values())


def test_it_renders_shop_overrides_in_a_batch_as_alone(shop, varied):
    """ID-4, IN-5: a shop's own subject and text (sandboxed) in a batch: the same email as alone;
    the HTML layout, which formats the text with ``linebreaks``, is rendered in full."""
    emails.email_template_save(
        shop=shop,
        kind="invitation",
        locale="en",
        subject="{{ first_name|upper }}, how was {{ shop_name }}?",
        body="Hi {{ first_name }},\n\nplease rate order {{ order_id }}:\n{{ rating_link }}",
    )
    lookups = emails.BatchLookups.read(varied)
    for invitation in varied:
        alone = emails.render_email(invitation, kind="invitation")
        assert emails.render_email(invitation, kind="invitation", lookups=lookups) == alone
    assert None in lookups.templates.compiled.values()  # custom.html: rendered in full


@pytest.mark.parametrize(
    "source",
    [
        "{{ first_name|upper }}",
        "{{ first_name|linebreaks }}",
        "{{ first_name|truncatechars:4 }}",
        "{{ first_name|length }}",
        "{{ first_name|addslashes }}",
        "{{ first_name|title }}",
        "{{ first_name|urlencode }}",
    ],
)
def test_it_does_not_compile_a_template_that_transforms_a_value(settings, tmp_path, source):
    """ID-4: a template that does more to a value than print it is rendered in full for every
    email: compiling it would give other text than Django."""
    (tmp_path / "probe.txt").write_text(f"Hello {source}!")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]
    context = {"first_name": "Kim <Lee>\nO'Neil"}
    assert compile_template("probe.txt", context) is None
    assert CompiledTemplates().render("probe.txt", context) == engines["django"].from_string(
        f"Hello {source}!"
    ).render(context)


def test_it_renders_in_full_a_template_that_needs_a_real_value(settings, tmp_path):
    """ID-4: a tag that uses a value as a template name (or a URL) fails with a marker in it; the
    template is then rendered in full, as Django renders it."""
    (tmp_path / "outer.txt").write_text("Hello {% include first_name %}!")
    (tmp_path / "inner.txt").write_text("from inside")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]
    templates = CompiledTemplates()
    for _ in range(2):
        assert templates.render("outer.txt", {"first_name": "inner.txt"}) == "Hello from inside!"
    assert list(templates.compiled.values()) == [None]


def test_it_writes_the_bytes_django_writes(varied):
    """ID-4, R41, IN-6: the message bytes a batch sends are Django's, header by header and part by
    part (the Date aside, which is the time of sending, and the random boundary, drawn alike)."""
    lookups = emails.BatchLookups.read(varied)
    for seed, invitation in enumerate(varied):
        for kind in ("invitation", "reminder_1"):
            message = emails.invitation_message(invitation, kind=kind, lookups=lookups)
            assert writer_bytes(message, seed) == django_bytes(message, seed)


def test_it_leaves_to_django_what_it_does_not_write_itself():
    """ID-4: quoted-printable bodies (a line over 998 bytes), Cc, attachments and other charsets:
    the same bytes as Django, because Django writes them."""
    fixed = {"Message-ID": "<fixed@example.com>"}  # else made of the time of the call

    def message(body: str) -> EmailMultiAlternatives:
        made = EmailMultiAlternatives("s", body, "a@example.com", ["b@example.com"], headers=fixed)
        made.attach_alternative("<p>é</p>", "text/html")
        return made

    long_line, long_in_bytes, near_the_limit, copied, attached, latin = (
        message("x" * 1200),
        message("é" * 600),  # 600 characters, 1,200 bytes: over the limit only once encoded
        message("short\n" + "é" * 499),  # 998 bytes: still written here, as 8bit
        message("t"),
        message("t"),
        message("Grüße"),
    )
    copied.cc = ["c@example.com"]
    attached.attach("a.txt", "content", "text/plain")
    latin.encoding = "iso-8859-1"
    made_all = [long_line, long_in_bytes, near_the_limit, copied, attached, latin]
    for seed, made in enumerate(made_all):
        assert writer_bytes(made, seed) == django_bytes(made, seed)


def test_it_folds_and_stores_headers_as_the_email_package_does():
    """IN-6: every header value, short or long, with or without spaces, is folded and stored
    exactly as Django and the email package would (random values around the 78 limit)."""
    folding = mime._POLICY
    rnd = random.Random(8058)
    alphabet = string.printable[:94] + "    "
    for name in ("To", "Subject", "Message-ID", "List-Unsubscribe", "X-Long-Header-Name"):
        for length in [*range(90), *range(90, 400, 7)]:
            value = "".join(rnd.choice(alphabet) for _ in range(length))
            for candidate in (value, value.replace(" ", ""), value.strip()):
                assert mime.fold(name, candidate) == folding.fold_binary(name, candidate)
                expected = forbid_multi_line_headers(name, candidate, "utf-8")[1]
                assert mime.stored_value(name, candidate) == expected


@pytest.mark.parametrize(
    "address",
    [
        "kim@example.com",
        "k.o'neil+shop@Sub-Domain.Example.ORG",
        '"Kim Lee"@example.com',
        "jörg@exämple.de",
        "Kim <kim@example.com>",
        "Bäckerei via Review platform <reviews@example.com>",
        "Backerei Kim via Review platform <reviews@example.com>",
        '"O\'Neil & Sons via Review platform" <reviews@Example.com>',
        '"Kim. Lee via Review platform" <reviews@example.com>',
        ("Kim", "kim@example.com"),
        "a..b@example.com",
    ],
)
def test_it_gives_the_envelope_addresses_django_gives(address):
    """ID-4: the SMTP envelope (MAIL FROM, RCPT TO) is built from the same addresses as Django's."""
    assert mime.envelope_address(address, "utf-8") == sanitize_address(address, "utf-8")


def _sanitize_or_error(address: str):
    try:
        return sanitize_address(address, "utf-8")
    except Exception as exc:  # noqa: BLE001 - compared: the same error, or the same answer
        return type(exc)


def test_it_gives_named_envelope_addresses_as_django_does_around_the_fold():
    """ID-4 (issue 12): a sender with a display name ("<shop> via <platform>" <address>) takes a
    fast path; random names, quoted or not, of ASCII and other characters, around the length at
    which the email package folds a name, give exactly sanitize_address's answer (or its
    error)."""
    rnd = random.Random(5322)
    alphabet = string.ascii_letters + string.digits + "     '&.,\"()<>@:;äé-_!#"
    domains = ["example.com", "Sub.Example.ORG", "exämple.de", "a" * 70 + ".example.com"]
    fast = 0
    for length in [*range(1, 90), *range(90, 200, 9)]:
        for _ in range(4):
            name = "".join(rnd.choice(alphabet) for _ in range(length))
            plain = "".join(rnd.choice(string.ascii_letters + "   '&-") for _ in range(length))
            for candidate_name in (name, " ".join(name.split()), " ".join(plain.split()), plain):
                for quoted in (False, True):
                    shown = f'"{candidate_name}"' if quoted else candidate_name
                    address = f"{shown} <kim.lee@{rnd.choice(domains)}>"
                    fast += mime.NAMED_ADDRESS.fullmatch(address) is not None
                    try:
                        got = mime.envelope_address(address, "utf-8")
                    except Exception as exc:  # noqa: BLE001 - as above
                        got = type(exc)
                    assert got == _sanitize_or_error(address), address
    assert fast > 500  # the fast path was taken, not only the slow one


def test_it_refuses_an_invalid_address_as_django_does():
    """ID-4: an address Django refuses is refused the same way, not sent."""
    too_long = "kim@" + "a" * 70 + ".example.com"
    with pytest.raises(UnicodeError):
        sanitize_address(too_long, "utf-8")
    with pytest.raises(UnicodeError):
        mime.envelope_address(too_long, "utf-8")


def normalized(raw: bytes) -> bytes:
    """The bytes without what differs between two sendings: the Date and the random boundary."""
    boundary = re.search(rb'boundary="([^"]+)"', raw).group(1)
    return _DATE.sub(b"", raw).replace(boundary, b"BOUNDARY")


def test_it_sends_over_smtp_what_djangos_backend_sends(varied, settings):
    """ID-4 through a real SMTP server: every email of a batch arrives with the envelope and the
    bytes Django's SMTP backend sends for the same email (the Date and boundary aside)."""
    server = CountingSink().start()
    try:
        send_to(settings, server.port)
        ids = [invitation.pk for invitation in varied]
        Invitation.objects.unscoped().filter(pk__in=ids).update(
            status="sending", claimed_at=timezone.now()
        )
        assert invitation_emails_send(invitation_ids=ids) == {"sent": len(ids)}
        batch = {received.message_id: received for received in server.handler.messages()}
        server.handler.reset()
        messages = [emails.invitation_message(i, kind="invitation") for i in varied]
        assert get_connection().send_messages(messages) == len(ids)
        django = {received.message_id: received for received in server.handler.messages()}
    finally:
        server.stop()

    assert batch.keys() == django.keys() and len(batch) == len(ids)
    for message_id, ours in batch.items():
        theirs = django[message_id]
        assert (ours.mail_from, ours.rcpt_tos) == (theirs.mail_from, theirs.rcpt_tos)
        assert normalized(ours.raw) == normalized(theirs.raw)


def test_it_dates_each_email_as_formatdate_does_within_and_across_seconds(monkeypatch):
    """IN-6 (issue 12): the Date header is formatted once a second and shared by that second's
    emails; at every moment, local or UTC, it is what ``formatdate`` writes for that moment."""
    from email.utils import formatdate

    moments = [
        1_700_000_000.0,
        1_700_000_000.999,
        1_700_000_001.2,
        1_711_846_799.5,
        1_711_846_800.1,
    ]
    for moment in moments:
        for localtime in (False, True, False):
            monkeypatch.setattr(mime.time, "time", lambda moment=moment: moment)
            assert mime.date_now(localtime=localtime) == formatdate(moment, localtime=localtime)
