"""Review.public_id, step 2 of 3: a random reference for every existing review.

Its own migration (and so its own transaction): on Postgres the deferred tenant foreign keys
would otherwise refuse the ALTER TABLE of step 3 ("pending trigger events").
"""

import uuid

from django.db import migrations


def fill_public_ids(apps, schema_editor):
    Review = apps.get_model("reviews", "Review")
    # Deliberately cross-tenant: a schema migration covers every company's rows.
    rows = Review._base_manager.filter(public_id__isnull=True).only("pk")
    for review in rows.iterator(chunk_size=2000):
        Review._base_manager.filter(pk=review.pk).update(public_id=uuid.uuid4())


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0005_review_public_id"),
    ]

    operations = [
        migrations.RunPython(fill_public_ids, migrations.RunPython.noop),
    ]
