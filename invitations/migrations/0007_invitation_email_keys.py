"""The send record of every email (one row per invitation and reminder) loses what it wrote for
nothing: the single-column keys to its shop and invitation (their composite tenant keys prove
the same rows), the index on ``invitation_id`` (``invitationemail_unique`` leads with it) and the
one on ``company_id`` (``invitationemail_company`` leads with it). SQLite keeps Django's keys."""

import django.db.models.deletion
from django.db import migrations, models

from companies.db import AlterFieldOnPostgres


class Migration(migrations.Migration):
    dependencies = [
        ("companies", "0006_settings_notifications_requests"),
        ("invitations", "0006_tenant_keys_only"),
    ]

    operations = [
        migrations.AlterField(
            model_name="invitationemail",
            name="company",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="companies.company",
            ),
        ),
        AlterFieldOnPostgres(
            model_name="invitationemail",
            name="invitation",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="emails",
                to="invitations.invitation",
            ),
        ),
        AlterFieldOnPostgres(
            model_name="invitationemail",
            name="shop",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="companies.shop",
            ),
        ),
    ]
