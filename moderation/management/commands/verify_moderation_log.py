"""``verify_moderation_log``: walk the hash chain of the moderation log (R19).

Exits 0 and says how many entries it checked when the chain is whole; otherwise names the first
broken link and exits 1, so monitoring can alert on it.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from moderation.log import log_verify


class Command(BaseCommand):
    help = "Verify the moderation log's hash chain; report the first broken link."

    def handle(self, *args, **options):
        report = log_verify()
        if not report.ok:
            raise CommandError(
                f"Moderation log broken at entry {report.broken_at}: {report.problem} "
                f"({report.checked} entries before it are intact)."
            )
        self.stdout.write(self.style.SUCCESS(f"Moderation log intact: {report.checked} entries."))
