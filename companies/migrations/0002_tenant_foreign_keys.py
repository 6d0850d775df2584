"""Composite (x_id, company_id) foreign keys: no row can point into another company."""

from django.db import migrations

from companies.db import AddTenantForeignKey


class Migration(migrations.Migration):
    dependencies = [
        ("companies", "0001_initial"),
    ]

    operations = [
        AddTenantForeignKey("apikey", "shop"),
        AddTenantForeignKey("product", "shop"),
    ]
