"""``/u/<token>/``: one-click unsubscribe from a shop's invitations (R6, R41, RFC 8058)."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from invitations import emails
from invitations.models import Invitation, Suppression, email_digest
from tests import factories

pytestmark = pytest.mark.django_db

ADDRESS = "kim@example.org"


def url_for(shop, address: str = ADDRESS) -> str:
    return f"/u/{emails.unsubscribe_token(shop_id=shop.pk, email=address)}/"


def status_of(invitation: Invitation) -> tuple:
    row = Invitation.objects.unscoped().get(pk=invitation.pk)
    return row.status, row.suppression_reason, row.next_reminder_at


def test_it_unsubscribes_with_a_one_click_post_from_a_mail_client(shop):
    """RFC 8058: a POST without cookies or CSRF token, as mail clients send it, suppresses the
    address for this shop: scheduled invitations stop, sent ones lose their reminders, rated
    ones stay as they are."""
    now = timezone.now()
    scheduled = factories.InvitationFactory(shop=shop, email=ADDRESS)
    sent = factories.InvitationFactory(
        shop=shop, email="Kim@Example.org", status="sent", sent_at=now, next_reminder_at=now
    )
    rated = factories.InvitationFactory(shop=shop, email=ADDRESS, status="rated", used_at=now)
    someone_else = factories.InvitationFactory(shop=shop, email="alex@example.org")

    mail_client = Client(enforce_csrf_checks=True)
    response = mail_client.post(
        url_for(shop), data="List-Unsubscribe=One-Click", content_type="text/plain"
    )

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    assert "You are unsubscribed" in response.content.decode()
    suppression = Suppression.objects.for_company(shop.company).get()
    assert (suppression.email_digest, suppression.reason) == (email_digest(ADDRESS), "unsubscribed")
    assert status_of(scheduled) == ("suppressed", "unsubscribed", None)
    assert status_of(sent) == ("sent", "", None)
    assert status_of(rated)[0] == "rated"
    assert status_of(someone_else) == ("scheduled", "", None)


def test_it_asks_for_confirmation_on_get_and_changes_nothing(shop, client):
    """A link click (GET, also link scanners) only shows the page with the button."""
    invitation = factories.InvitationFactory(shop=shop, email=ADDRESS)
    response = client.get(url_for(shop))
    page = response.content.decode()
    assert response.status_code == 200
    assert "No more review invitations from ACME-A Shop?" in page
    assert '<form method="post">' in page
    assert ADDRESS not in page
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    assert not Suppression.objects.for_company(shop.company).exists()
    assert status_of(invitation)[0] == "scheduled"


def test_it_speaks_german_to_a_german_browser(shop, client):
    """The page follows the browser's language (English and German)."""
    response = client.get(url_for(shop), HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    assert "Keine Bewertungseinladungen mehr von ACME-A Shop?" in response.content.decode()
    assert '<html lang="de">' in response.content.decode()
    response = client.post(url_for(shop), HTTP_ACCEPT_LANGUAGE="de")
    assert "Sie sind abgemeldet" in response.content.decode()


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        "eyJzIjoxLCJkIjoiYSJ9:1tXyZa:forged-signature-value",
    ],
)
def test_it_answers_a_bad_token_with_a_neutral_404(shop, client, token):
    """A forged or damaged link reveals nothing and changes nothing."""
    for method in (client.get, client.post):
        response = method(f"/u/{token}/")
        assert response.status_code == 404
        assert "ACME-A" not in response.content.decode()
        assert response["Cache-Control"] == "no-store"
    assert not Suppression.objects.unscoped().exists()


def test_it_refuses_a_token_tampered_to_name_another_shop(shop, other_shop, client):
    """The signature covers the shop id: swapping it breaks the token."""
    token = emails.unsubscribe_token(shop_id=shop.pk, email=ADDRESS)
    payload, stamp, signature = token.split(":")
    other_payload = emails.unsubscribe_token(shop_id=other_shop.pk, email=ADDRESS).split(":")[0]
    assert other_payload != payload
    response = client.post(f"/u/{other_payload}:{stamp}:{signature}/")
    assert response.status_code == 404
    assert not Suppression.objects.unscoped().exists()


def test_it_refuses_a_token_for_a_shop_that_is_gone(shop, client):
    """A deleted shop's old links answer like a forged one (R4: no hint of what existed)."""
    url = url_for(shop)
    shop.delete()
    assert client.get(url).status_code == 404


def test_it_is_idempotent(shop, client):
    """Two clicks (or the mail client's POST and then the person's) give one suppression."""
    invitation = factories.InvitationFactory(shop=shop, email=ADDRESS)
    for _ in range(2):
        assert client.post(url_for(shop)).status_code == 200
    assert Suppression.objects.for_company(shop.company).count() == 1
    assert status_of(invitation)[:2] == ("suppressed", "unsubscribed")


def test_it_keeps_a_hard_bounce_as_the_reason(shop, client):
    """R6: an address that bounced stays recorded as bounced after an unsubscribe."""
    Suppression.objects.for_company(shop.company).create(
        company=shop.company, shop=shop, email_digest=email_digest(ADDRESS), reason="bounced"
    )
    client.post(url_for(shop))
    assert Suppression.objects.for_company(shop.company).get().reason == "bounced"


def test_it_leaves_the_other_shop_untouched(shop, other_shop, client):
    """R4, R6: unsubscribing from shop A stops nothing of shop B (another company), even for
    the same address."""
    now = timezone.now()
    mine = factories.InvitationFactory(shop=shop, email=ADDRESS)
    theirs = factories.InvitationFactory(shop=other_shop, email=ADDRESS)
    theirs_sent = factories.InvitationFactory(
        shop=other_shop,
        email=ADDRESS,
        status="sent",
        sent_at=now,
        next_reminder_at=now + datetime.timedelta(days=7),
    )
    client.post(url_for(shop))
    assert status_of(mine)[:2] == ("suppressed", "unsubscribed")
    assert status_of(theirs) == ("scheduled", "", None)
    assert status_of(theirs_sent) == ("sent", "", theirs_sent.next_reminder_at)
    assert not Suppression.objects.for_company(other_shop.company).exists()


def test_it_refuses_other_methods(shop, client):
    """Only GET (the page) and POST (RFC 8058 one-click) are answered."""
    assert client.put(url_for(shop)).status_code == 405
