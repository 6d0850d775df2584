import datetime

from django.core.management.base import BaseCommand
from django.utils import timezone

from payments.collections import collection_build


class Command(BaseCommand):
    help = "Build a pain.008 file of the due, pre-notified debits (R35) and print its path."

    def add_arguments(self, parser):
        parser.add_argument("--date", type=datetime.date.fromisoformat, help="collection date")
        parser.add_argument("--output", help="write the XML to this file")

    def handle(self, *args, **options):
        when = options["date"] or timezone.localdate() + datetime.timedelta(days=1)
        collection = collection_build(collection_date=when)
        if collection is None:
            self.stdout.write("nothing to collect")
            return
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8") as out:
                out.write(collection.xml)
        self.stdout.write(
            f"collection {collection.pk} {collection.message_id}: "
            f"{collection.count} debits, {collection.total} EUR"
        )
