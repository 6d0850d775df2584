"""Authentication, unknown methods, tenant isolation (TI-1) and credentials kept out of logs
(AU-6) for ``/v3/<method>``."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from django.utils import timezone

from companies.models import Product
from compat import views
from ekomi.logging import redact
from invitations.models import Invitation, Order
from moderation.dialogue import dialogue_company_write
from reviews.models import CompanyComment
from seals.services import seal_recompute
from tests import factories
from tests.compat.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "auth",
    ["{id}|{pw}", "{id}%7C{pw}", "{id}%257C{pw}"],
    ids=["raw-pipe", "url-encoded-pipe", "double-encoded-pipe"],
)
def test_it_accepts_every_spelling_of_the_auth_pair(client, shop, auth):
    auth = auth.format(id=shop.interface_id, pw=PASSWORD)
    response = client.get(f"/v3/getSettings?auth={auth}&version=cust-1.0.0&type=json")
    assert response.json()["mail_from_name"] == "ACME-A Shop"


def test_it_accepts_credentials_as_post_form_fields(client, shop):
    response = client.post(
        "/v3/getSettings",
        {"interface_id": shop.interface_id, "interface_pw": PASSWORD, "type": "json"},
    )
    assert response.json()["mail_from_name"] == "ACME-A Shop"


@pytest.mark.parametrize(
    "query",
    [
        "auth={id}|wrong",
        "auth={id}",
        "auth=999999|{pw}",
        "interface_id={id}&interface_pw=wrong",
        "interface_id={id}",
    ],
)
def test_it_answers_wrong_credentials_with_access_denied(client, shop, query):
    """Plugins string-compare the body with 'Access denied' (HTTP 200, plain text)."""
    query = query.format(id=shop.interface_id, pw=PASSWORD)
    response = client.get(f"/v3/getSettings?{query}&type=request&charset=iso")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content == b"Access denied"


def test_it_answers_missing_credentials_with_nonauth(client):
    assert client.get("/v3/getAverage?version=cust-1.0.0").content == b"NonAuth"


@pytest.mark.parametrize(
    "method", ["ptOrder", "getproductfeedback", "putFeedback", "getMarketresearch"]
)
def test_it_answers_unknown_methods_with_nonfunction(client, auth, method):
    """KB getAverage: an unknown name such as ptOrder; names are matched exactly."""
    response = client.get(f"/v3/{method}?auth={auth}")
    assert (response.status_code, response.content) == (200, b"NonFunction")


def test_it_never_shows_or_changes_another_companys_data(client, shop, other_shop, auth):
    """TI-1: the other company's credentials see none of this shop's reviews and orders, and
    writing the same ids there changes nothing here."""
    review = factories.ReviewFactory(shop=shop, comment="Nur für ACME")
    order_id = review.invitation.order.order_id
    factories.ProductFactory(shop=shop, product_id="SHARED", name="Ours")
    other = f"{other_shop.interface_id}|{PASSWORD}"
    assert client.get(f"/v3/getFeedback?auth={other}&type=json").json() == []
    assert client.get(f"/v3/getSnapshot?auth={other}&type=json").json()["info"]["fb_count"] == "0"
    assert client.get(f"/v3/putComment?auth={other}&order_id={order_id}&comment=x").content == (
        b"Order-ID not found."
    )
    client.get(f"/v3/putProduct?auth={other}&product_id=SHARED&product_name=Theirs")
    client.get(f"/v3/putOrder?auth={other}&order_id={order_id}")
    ours = Product.objects.for_company(shop.company_id).get(shop=shop, product_id="SHARED")
    assert ours.name == "Ours"
    assert not CompanyComment.objects.for_company(shop.company_id).exists()
    assert Order.objects.for_company(shop.company_id).filter(order_id=order_id).count() == 1
    theirs = Order.objects.for_company(other_shop.company_id).get(order_id=order_id)
    assert theirs.shop == other_shop


def _broken(shop, params):
    raise RuntimeError("boom")


def test_it_keeps_passwords_out_of_every_log_line(client, shop, auth, caplog, monkeypatch):
    """AU-6: failed, successful and crashing calls log no password, not even in the request
    attached to django.request's records (whose repr carries the query string)."""
    caplog.set_level(logging.DEBUG)
    client.get(f"/v3/getSettings?auth={shop.interface_id}|secret-guess-1&type=json")
    client.get(f"/v3/putOrder?auth={auth}&order_id=LOG-1")
    client.get(f"/v3/getSettings?interface_id={shop.interface_id}&interface_pw=secret-guess-2")
    assert client.get(f"/v3/?auth={auth}").content == b"NonFunction"
    broken = views.METHODS["getFeedback"]
    monkeypatch.setitem(views.METHODS, "getFeedback", replace(broken, handler=_broken))
    client.raise_request_exception = False
    assert client.get(f"/v3/getFeedback?auth={auth}&type=json").status_code == 500
    logged = caplog.text + "".join(str(vars(record)) for record in caplog.records)
    assert "getSettings: access denied" in logged
    assert "Internal Server Error: /v3/getFeedback" in logged
    for secret in (PASSWORD, "secret-guess-1", "secret-guess-2"):
        assert secret not in logged


@pytest.mark.parametrize(
    "method",
    ["getFeedback", "getProductfeedback", "getRated", "getDialog", "getSnapshot", "getAverage"],
)
def test_it_lists_nothing_of_this_shop_to_another_company(client, shop, other_shop, method):
    """TI-1: every read answers from the caller's own shop only."""
    product = factories.ProductFactory(shop=shop, product_id="OURS1")
    review = factories.ReviewFactory(
        shop=shop, comment="ACME secret praise", dialogue_email="k@x.de"
    )
    factories.ReviewFactory(shop=shop, kind="product", product=product, comment="ACME product")
    Invitation.objects.for_company(shop.company_id).filter(pk=review.invitation_id).update(
        used_at=timezone.now()
    )
    dialogue_company_write(review=review, text="ACME dialogue")
    seal_recompute(shop_id=shop.pk)
    other = f"{other_shop.interface_id}|{PASSWORD}"
    body = client.get(f"/v3/{method}?auth={other}&type=json").content.decode()
    for trace in ("ACME", review.invitation.order.order_id, "OURS1"):
        assert trace not in body
    if method in {"getSnapshot", "getAverage"}:
        assert '"fb_count":"0"' in body or '"number_of_ratings":0' in body


@pytest.mark.parametrize(
    "line",
    [
        '"GET /v3/getSettings?auth=500001%7Csecret-pw&type=request HTTP/1.1" 200 9',
        '"GET /v3/getProductfeedback?interface_id=500001&interface_pw=secret-pw HTTP/1.1" 200',
        "POST /legacy?interface_password=secret-pw&pw=secret-pw",
    ],
)
def test_it_redacts_every_credential_form_of_a_request_line(line):
    """AU-6: runserver/gunicorn access lines carry the full query string."""
    assert "secret-pw" not in redact(line)


def test_it_stops_checking_passwords_after_twenty_wrong_guesses(client, shop):
    """AU-6: 20 wrong pairs from one address; then even the right one gets 'Access denied'
    (the answer stays eKomi's), while other addresses are unaffected."""
    import secrets

    guesser = "10.55." + ".".join(str(secrets.randbelow(250) + 1) for _ in range(2))
    for n in range(20):
        wrong = client.get(
            f"/v3/getSettings?auth={shop.interface_id}|wrong{n}&type=json", REMOTE_ADDR=guesser
        )
        assert wrong.content == b"Access denied"
    right = f"/v3/getSettings?auth={shop.interface_id}|{PASSWORD}&type=json"
    assert client.get(right, REMOTE_ADDR=guesser).content == b"Access denied"
    assert client.get(right, REMOTE_ADDR="10.54.0.1").json()["mail_from_name"] == "ACME-A Shop"
