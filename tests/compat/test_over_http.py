"""The DNest ``ekomi-api-python`` 0.1 call, over real HTTP (the only registry-installable v3
client; its top-level package is named ``ekomi`` like ours, so its request is replayed here:
``requests.request("GET", base + "putOrder", data={}, params=...)`` encodes the pipe as %7C)."""

from __future__ import annotations

import datetime
import json
import urllib.parse
import urllib.request

import pytest

from invitations import tokens
from invitations.models import Invitation
from tests.compat.conftest import PASSWORD


@pytest.mark.django_db(transaction=True)
def test_it_answers_the_dnest_put_order_over_http(live_server, shop):
    """R5: the same link on a repeat, as JSON the client json.loads()."""
    params = {
        "order_id": "DNEST-1",
        "ordertimestamp": datetime.datetime(2026, 11, 20, 9, 30).strftime("%Y-%m-%d %H:%M:%S"),
        "auth": f"{shop.interface_id}|{PASSWORD}",
        "version": "cust-1.0.0",
        "charset": "utf-8",
        "type": "json",
    }
    url = f"{live_server.url}/v3/putOrder?{urllib.parse.urlencode(params)}"
    assert "%7C" in url
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (the test server)
        first = json.loads(response.read())
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310
        again = json.loads(response.read())
    invitation = Invitation.objects.for_company(shop.company_id).get(order__order_id="DNEST-1")
    assert first["link"] == again["link"] == tokens.rating_url(invitation.token_nonce)
    assert "known_since" not in first and again["known_since"]
