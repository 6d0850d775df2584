"""``integrity_scan [--purge]``: the daily integrity jobs (R23), for operators.

Flags shops whose orders go uninvited or whose order volume drops; with ``--purge`` also
deletes network hashes and settled signals older than 90 days.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from moderation.integrity import integrity_coverage_scan, integrity_signals_purge


class Command(BaseCommand):
    help = "Flag invitation-coverage gaps and order-volume drops; --purge applies retention."

    def add_arguments(self, parser):
        parser.add_argument("--purge", action="store_true", help="apply the 90-day retention")

    def handle(self, *args, purge: bool, **options):
        created = integrity_coverage_scan()
        self.stdout.write(f"New integrity signals: {created}.")
        if purge:
            self.stdout.write(f"Purged rows: {integrity_signals_purge()}.")
