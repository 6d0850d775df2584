"""Drop the single-column foreign keys whose composite tenant key ``(x_id, company_id)`` already
proves the referenced row exists (``companies.tenancy.tenant_keyed``): every rating submission
inserts two reviews and two versions, and Postgres checked each of these references twice
(bench, rating submissions). SQLite has no composite keys and keeps Django's."""

import django.db.models.deletion
from django.db import migrations, models

from companies.db import AlterFieldOnPostgres


class Migration(migrations.Migration):
    dependencies = [
        ("companies", "0006_settings_notifications_requests"),
        ("invitations", "0005_fewer_invitation_indexes"),
        ("reviews", "0010_fewer_review_indexes"),
    ]

    operations = [
        AlterFieldOnPostgres(
            model_name="review",
            name="invitation",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="reviews",
                to="invitations.invitation",
            ),
        ),
        AlterFieldOnPostgres(
            model_name="review",
            name="product",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="reviews",
                to="companies.product",
            ),
        ),
        AlterFieldOnPostgres(
            model_name="review",
            name="shop",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="reviews",
                to="companies.shop",
            ),
        ),
        AlterFieldOnPostgres(
            model_name="reviewversion",
            name="review",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="versions",
                to="reviews.review",
            ),
        ),
        AlterFieldOnPostgres(
            model_name="reviewversion",
            name="shop",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="companies.shop",
            ),
        ),
    ]
