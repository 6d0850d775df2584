"""Drop single-column indexes that a composite index already leads with (EXPLAIN: every lookup
and cascade they served uses review_company_shop, reviewversion_company or reviewversion_unique):
one index fewer to write per review and two per version (bench, rating submissions)."""

import django.db.models.deletion
from django.db import migrations, models

# On SQLite, rebuilding reviews_review would try to create the Postgres-only search index (0008)
# and an index more is harmless there.
from companies.db import AlterFieldOnPostgres


class Migration(migrations.Migration):
    dependencies = [
        ("companies", "0006_settings_notifications_requests"),
        ("reviews", "0009_review_shop_statistics"),
    ]

    operations = [
        AlterFieldOnPostgres(
            model_name="review",
            name="company",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="companies.company",
            ),
        ),
        migrations.AlterField(
            model_name="reviewversion",
            name="company",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="companies.company",
            ),
        ),
        migrations.AlterField(
            model_name="reviewversion",
            name="review",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="versions",
                to="reviews.review",
            ),
        ),
    ]
