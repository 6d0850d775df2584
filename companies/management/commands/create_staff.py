"""``create_staff --email E [--password P] [--moderator] [--reset-totp]``: a platform staff login.

Safe to run twice: an existing user is updated to the requested role. The admin needs a TOTP
code (TI-5): the first run creates the user's device and prints its ``otpauth://`` URI once, to
add to an authenticator app; ``--reset-totp`` replaces a lost device.
"""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from companies.models import User
from companies.services_staff import MODERATORS_GROUP, staff_user_upsert


class Command(BaseCommand):
    help = (
        "Create a platform staff user (superuser, or moderator with --moderator). Without "
        "--password a password is generated and printed once. Running it again for the same "
        "email updates the role."
    )

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", help="default: generate one and print it once")
        parser.add_argument(
            "--moderator",
            action="store_true",
            help=f"staff in the {MODERATORS_GROUP} group instead of a superuser",
        )
        parser.add_argument(
            "--reset-totp",
            action="store_true",
            help="replace the user's TOTP device and print the new URI once",
        )

    def handle(
        self,
        *args,
        email: str,
        password: str | None,
        moderator: bool,
        reset_totp: bool = False,
        **options,
    ):
        try:
            validate_email(email)
            if password is not None:
                validate_password(password, user=User(email=email))
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc

        result = staff_user_upsert(
            email=email, password=password, moderator=moderator, reset_totp=reset_totp
        )
        role = f"moderator (group {MODERATORS_GROUP})" if moderator else "superuser"
        verb = "Created" if result.created else "Updated existing"
        self.stdout.write(self.style.SUCCESS(f"{verb} staff user {result.user.email}: {role}."))
        if result.generated_password:
            self.stdout.write(f"Password (shown once, store it now): {result.generated_password}")
        elif password is not None:
            self.stdout.write("Password set as given.")
        else:
            self.stdout.write("Password unchanged.")
        if result.totp_uri:
            self.stdout.write(
                "Second factor for /admin/ (shown once): add this to an authenticator app:\n"
                f"  {result.totp_uri}"
            )
        else:
            self.stdout.write("TOTP device unchanged (use --reset-totp to replace it).")
