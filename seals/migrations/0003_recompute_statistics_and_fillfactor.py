"""Postgres settings for the nightly recompute of every seal (R24-R26, seals.recompute).

- Statistics on reviews over (shop, product): all reviews of a product belong to one shop, which
  the planner cannot know from per-column statistics. Without them it expects about a hundred
  times more (shop, product) groups in the window aggregate than there are, and plans a sort
  spilled to disk instead of an in-memory hash.
- Half of each page of seal statuses is kept free. The sweep writes every status each night
  ("Status as of" moves), never an indexed column, so Postgres can keep each new row version in
  its page without touching the seven indexes (a HOT update), but only where the page has room;
  in full pages every status moved to another page each night with all its index entries. The
  versions of the night before are pruned to make room again.

SQLite (the embedded mode) has neither; there this migration changes nothing.
"""

from django.db import migrations

STATISTICS = "review_shop_product_groups"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    review = apps.get_model("reviews", "Review")._meta.db_table
    status = apps.get_model("seals", "SealStatus")._meta.db_table
    schema_editor.execute(
        f"CREATE STATISTICS IF NOT EXISTS {STATISTICS} (ndistinct) "
        f"ON shop_id, product_id FROM {review}"
    )
    # Extended statistics stay empty until the table is next analyzed.
    schema_editor.execute(f"ANALYZE {review}")
    schema_editor.execute(f"ALTER TABLE {status} SET (fillfactor = 50)")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    status = apps.get_model("seals", "SealStatus")._meta.db_table
    schema_editor.execute(f"ALTER TABLE {status} RESET (fillfactor)")
    schema_editor.execute(f"DROP STATISTICS IF EXISTS {STATISTICS}")


class Migration(migrations.Migration):
    dependencies = [
        ("seals", "0002_tenant_foreign_keys"),
        ("reviews", "0008_review_comment_search"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
