"""Create a company with its first shop, owner login, API key and interface credentials."""

from __future__ import annotations

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError

from companies.models import User
from companies.services import company_create


class Command(BaseCommand):
    help = (
        "Create a company, its first shop and owner login, one API key and the shop's "
        "interface id/password. Secrets are printed once and stored only hashed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="the company's legal name")
        parser.add_argument("--shop", required=True, help="the first shop's name")
        parser.add_argument("--owner-email", required=True)
        parser.add_argument("--owner-password", help="generated when omitted")
        parser.add_argument("--slug", help="the shop's public slug (/c/<slug>/)")
        parser.add_argument("--country", default="DE", help="ISO 3166-1 alpha-2 code")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, **options):
        email = options["owner_email"].strip().lower()
        if User.objects.filter(email=email).exists():
            raise CommandError(f"A user with the email {email} already exists.")
        try:
            created = company_create(
                name=options["name"],
                shop_name=options["shop"],
                owner_email=email,
                owner_password=options["owner_password"],
                shop_slug=options["slug"],
                country=options["country"].upper(),
            )
        except IntegrityError as exc:
            raise CommandError(f"Could not create the company: {exc}") from exc
        info = {
            "company_id": created.company.pk,
            "shop_id": created.shop.pk,
            "shop_slug": created.shop.slug,
            "owner_email": created.owner.email,
            "owner_password": created.owner_password,
            "api_key": created.api_key,
            "interface_id": created.shop.interface_id,
            "interface_password": created.interface_password,
            "certificate_url": f"{settings.SITE_URL}/c/{created.shop.slug}/",
        }
        if options["json"]:
            self.stdout.write(json.dumps(info))
            return
        self.stdout.write(self.style.SUCCESS(f"Created {created.company.name}."))
        for key, value in info.items():
            self.stdout.write(f"  {key.replace('_', ' ')}: {value}")
        self.stdout.write("The password, API key and interface password are shown only now.")
