"""The widget in a real browser on somebody else's site (R28, TESTPLAN AU-8 L2, IN-5 L2).

A shop's page is served from another origin (127.0.0.1 on a port of its own, with a strict CSP
of its own) and embeds our widget script, the seal image and the widget's iframe page from the
live server. Headless Chromium must show the seal, a rating with its text and the average, log
no error, open no dialog and hold no cookie.
"""

from __future__ import annotations

import http.server
import threading
from contextlib import contextmanager

import pytest

from seals.services import seal_recompute
from tests import factories
from tests.seals.conftest import HOSTILE, make_reviews

pytestmark = pytest.mark.django_db(transaction=True)

HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Outdoor shop</title></head>
<body>
<h1>Our shop</h1>
<div data-review-widget="{slug}">
  <a href="{server}/c/{slug}/">Customer reviews of our shop</a>
</div>
<script src="{server}/c/{slug}/widget.js" async></script>
<img id="seal" src="{server}/c/{slug}/seal.svg" alt="Our seal" width="280" height="104">
<iframe id="frame" title="Reviews" src="{server}/c/{slug}/widget/?lang=de" width="380"
  height="260"></iframe>
</body></html>
"""


@contextmanager
def shop_site(html: str, server: str):
    """The shop's own web server: another origin, a strict CSP that admits only our server."""
    policy = (
        f"default-src 'self'; script-src {server}; img-src {server}; frame-src {server}; "
        "style-src 'self'; object-src 'none'; base-uri 'none'"
    )

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Security-Policy", policy)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{site.server_address[1]}/"
    finally:
        site.shutdown()
        site.server_close()


@pytest.fixture
def hostile_gold_shop(company):
    """A gold shop whose name and every review text that the widget may pick are hostile."""
    shop = factories.ShopFactory(company=company, name=HOSTILE[0], slug="trail-shop")
    make_reviews(shop, [5] * 50, comment="")  # no text: never picked by the widget
    for text in HOSTILE:
        make_reviews(shop, [5], comment=text)
    seal_recompute(shop_id=shop.pk)
    return shop


def _watch(page) -> dict[str, list]:
    seen: dict[str, list] = {"errors": [], "dialogs": [], "set_cookie": []}
    page.on("console", lambda m: m.type == "error" and seen["errors"].append(m.text))
    page.on("pageerror", lambda exc: seen["errors"].append(str(exc)))
    page.on("dialog", lambda dialog: (seen["dialogs"].append(dialog.message), dialog.dismiss()))

    def response(resp):
        if resp.headers.get("set-cookie"):
            seen["set_cookie"].append(resp.url)

    page.on("response", response)
    return seen


def test_it_shows_seal_rating_and_average_on_another_origin(
    live_server, chromium, hostile_gold_shop
):
    server = live_server.url
    html = HOST_PAGE.format(server=server, slug=hostile_gold_shop.slug)
    context = chromium.new_context()
    try:
        page = context.new_page()
        seen = _watch(page)
        with shop_site(html, server) as url:
            page.goto(url)
            widget = page.locator("[data-review-widget] section.w")  # pierces the shadow root
            widget.wait_for()
            assert page.locator("[data-review-widget] .seal").get_attribute("aria-label") == (
                "Gold seal"
            )
            assert page.locator("[data-review-widget] .avg").inner_text() == "5.0/5"
            assert "53 reviews in the last 12 months" in widget.inner_text()
            quote = page.locator("[data-review-widget] blockquote").inner_text()
            assert quote in HOSTILE  # shown as text, exactly as written
            assert page.locator("[data-review-widget] .verified").inner_text() == "Verified order"
            assert "Status as of" in page.locator("[data-review-widget] .foot").inner_text()
            # Styled although the shop's CSP forbids inline styles (constructable stylesheet).
            radius = widget.evaluate("node => getComputedStyle(node).borderTopLeftRadius")
            assert radius == "12px"
            # The plain link is still in the page for crawlers and readers without JavaScript.
            assert page.locator("[data-review-widget] > a").count() == 1
            seal = page.locator("#seal")
            seal.evaluate("img => img.decode()")
            assert seal.evaluate("img => img.naturalWidth") == 280
            frame = page.frame_locator("#frame")
            frame.locator("section.w").wait_for()
            assert frame.locator(".avg").inner_text() == "5,0/5"
            assert "Stand:" in frame.locator(".foot").inner_text()
            page.wait_for_timeout(200)  # late errors and dialogs
        assert seen["errors"] == []
        assert seen["dialogs"] == []
        assert seen["set_cookie"] == []
        assert context.cookies() == []
        assert page.evaluate("() => typeof window.alert") == "function"  # nothing replaced it
    finally:
        context.close()
