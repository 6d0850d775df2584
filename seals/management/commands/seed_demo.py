"""``manage.py seed_demo``: the demo company of ``make run``, and where to look at it."""

from __future__ import annotations

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import Resolver404, resolve, reverse

from seals.demo import DemoError, DemoResult, demo_seed


class Command(BaseCommand):
    help = (
        "Create the demo company (two shops, 14 months of orders and reviews) and print its "
        "URLs and logins. Safe to run twice: a second run only prints."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--json", action="store_true", help="print one JSON object (for scripts and tests)"
        )

    def handle(self, *args, **options):
        try:
            result = demo_seed()
        except DemoError as exc:
            raise CommandError(str(exc)) from exc
        info = demo_info(result)
        if options["json"]:
            self.stdout.write(json.dumps(info))
        else:
            self.stdout.write("\n".join(_text_lines(info)))


def _url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def _backend_login_url() -> str | None:
    """The customer backend's login, once the project serves it."""
    try:
        resolve(settings.LOGIN_URL)
    except Resolver404:
        return None
    return _url(settings.LOGIN_URL)


def demo_info(result: DemoResult) -> dict:
    """Everything a person or a script needs to look at the demo."""
    return {
        "created": result.created,
        "company": result.company_name,
        "site_url": settings.SITE_URL,
        "admin_url": _url(reverse("admin:index")),
        "mailbox_url": _url(reverse("dev-mailbox")) if settings.DEBUG else None,
        "login_url": _backend_login_url(),
        "owner_email": result.owner_email,
        "owner_password": result.owner_password,
        "slugs": [shop.slug for shop in result.shops],
        "shops": [
            {
                "slug": shop.slug,
                "name": shop.name,
                "certificate_url": _url(reverse("seals:certificate", args=[shop.slug])),
                "tier": shop.tier,
                "average": str(shop.average) if shop.average is not None else None,
                "review_count": shop.review_count,
                "interface_id": shop.interface_id,
                "interface_password": shop.interface_password,
                "api_key": shop.api_key,
            }
            for shop in result.shops
        ],
    }


def _text_lines(info: dict) -> list[str]:
    state = "created" if info["created"] else "already there, nothing added"
    lines = [f"Demo company {info['company']!r}: {state}.", ""]
    lines.append(f"  Site:      {info['site_url']}/")
    lines.append(f"  Admin:     {info['admin_url']}  (platform staff only)")
    lines.append(
        "             create a staff login: .venv/bin/python manage.py create_staff --email ..."
    )
    if info["mailbox_url"]:
        lines.append(f"  Mailbox:   {info['mailbox_url']}  (emails the platform sent)")
    login = f"  Login:     {info['owner_email']} / {info['owner_password']}"
    if info["login_url"]:
        login += f"  at {info['login_url']}"
    lines += [login, ""]
    for shop in info["shops"]:
        lines += _shop_lines(shop)
    if not info["created"]:
        lines.append(
            "API keys and interface passwords were shown on the first run only; "
            "they are stored hashed (R3)."
        )
    return lines


def _shop_lines(shop: dict) -> list[str]:
    average = f"{shop['average']} / 5" if shop["average"] is not None else "no average"
    lines = [
        f"  {shop['name']} ({shop['slug']})",
        f"    Certificate page:   {shop['certificate_url']}",
        f"    Seal:               {shop['tier'].capitalize()}, {average} from "
        f"{shop['review_count']} reviews in the last 12 months",
        f"    Interface id:       {shop['interface_id']}",
    ]
    if shop["api_key"]:
        lines += [
            f"    Interface password: {shop['interface_password']}  (shown once)",
            f"    API key:            {shop['api_key']}  (shown once)",
        ]
    return [*lines, ""]
