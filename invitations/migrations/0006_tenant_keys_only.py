"""Drop the single-column foreign keys whose composite tenant key ``(x_id, company_id)`` already
proves the referenced row exists (``companies.tenancy.tenant_keyed``): every ingested order
writes an order, its items and an invitation, and Postgres checked each of these references
twice (bench, POST /api/v1/orders; the CSV import). SQLite has no composite keys and keeps
Django's."""

import django.db.models.deletion
from django.db import migrations, models

from companies.db import AlterFieldOnPostgres


class Migration(migrations.Migration):
    dependencies = [
        ("companies", "0006_settings_notifications_requests"),
        ("invitations", "0005_fewer_invitation_indexes"),
    ]

    operations = [
        AlterFieldOnPostgres(
            model_name="invitation",
            name="order",
            field=models.OneToOneField(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="invitation",
                to="invitations.order",
            ),
        ),
        AlterFieldOnPostgres(
            model_name="invitation",
            name="shop",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="invitations",
                to="companies.shop",
            ),
        ),
        AlterFieldOnPostgres(
            model_name="order",
            name="shop",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="orders",
                to="companies.shop",
            ),
        ),
        AlterFieldOnPostgres(
            model_name="orderitem",
            name="order",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="items",
                to="invitations.order",
            ),
        ),
        AlterFieldOnPostgres(
            model_name="orderitem",
            name="product",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="order_items",
                to="companies.product",
            ),
        ),
        AlterFieldOnPostgres(
            model_name="orderitem",
            name="shop",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="companies.shop",
            ),
        ),
    ]
