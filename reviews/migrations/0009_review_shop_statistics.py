"""Postgres statistics so the planner knows how many reviews one shop has.

``company_id`` and ``shop_id`` are filtered together on every per-shop read (the certificate
page, the widget, the backend lists). From per-column statistics the planner multiplies their
selectivities as if they were independent and expects about seven reviews per shop where there
are a thousand, so it scans and sorts a shop's whole history for one page of reviews (measured
on the benchmark data: 1.9 ms and 1,030 pages read; with the statistics 0.3 ms and 37 pages).
A shop belongs to one company: functional-dependency statistics tell it so.

SQLite (the embedded mode) has no extended statistics; there this migration changes nothing.
"""

from django.db import migrations

STATISTICS = "review_company_shop_dependencies"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    review = apps.get_model("reviews", "Review")._meta.db_table
    schema_editor.execute(
        f"CREATE STATISTICS IF NOT EXISTS {STATISTICS} (dependencies) "
        f"ON company_id, shop_id FROM {review}"
    )
    schema_editor.execute(f"ANALYZE {review}")  # extended statistics fill on the next analyze


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP STATISTICS IF EXISTS {STATISTICS}")


class Migration(migrations.Migration):
    dependencies = [("reviews", "0008_review_comment_search")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
