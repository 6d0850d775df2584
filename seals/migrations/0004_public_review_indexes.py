"""Indexes for the reads of the public surfaces on Postgres (seals.selectors, R24-R28).

- ``review_widget_sample``: the widget draws its random handful from a shop's counted reviews
  with a comment. Without it Postgres visited every such review's heap page (one page each:
  a shop's reviews are spread over the table) only to sort them by random(); with it the draw
  reads the index alone and visits the ten rows it chose. Partial: only the reviews the widget
  can show are in it.
- ``review_public_numbers``: the certificate page counts a shop's reviews by status, kind, stars
  and 12-month window and takes the median publication delays, in one aggregate. The columns it
  reads are in the index, so the aggregate is an index-only scan instead of a visit to every
  review's heap page.

SQLite (the embedded mode) keeps its default indexes; there this migration changes nothing.
"""

from django.db import migrations

WIDGET_SAMPLE = "review_widget_sample"
PUBLIC_NUMBERS = "review_public_numbers"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    review = apps.get_model("reviews", "Review")._meta.db_table
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {WIDGET_SAMPLE} ON {review} "
        "(company_id, shop_id, kind, submitted_at) INCLUDE (product_id, id) "
        "WHERE status = 'published' AND is_transaction_based AND comment <> ''"
    )
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {PUBLIC_NUMBERS} ON {review} (company_id, shop_id) "
        "INCLUDE (status, kind, is_transaction_based, rating, submitted_at, published_at, "
        "product_id)"
    )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {WIDGET_SAMPLE}")
    schema_editor.execute(f"DROP INDEX IF EXISTS {PUBLIC_NUMBERS}")


class Migration(migrations.Migration):
    dependencies = [
        ("seals", "0003_recompute_statistics_and_fillfactor"),
        ("reviews", "0009_review_shop_statistics"),
    ]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
