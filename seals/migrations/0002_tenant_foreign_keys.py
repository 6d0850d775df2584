"""Composite (x_id, company_id) foreign keys: no row can point into another company."""

from django.db import migrations

from companies.db import AddTenantForeignKey


class Migration(migrations.Migration):
    dependencies = [
        ("seals", "0001_initial"),
        ("companies", "0002_tenant_foreign_keys"),
    ]

    operations = [
        AddTenantForeignKey("sealstatus", "shop"),
        AddTenantForeignKey("sealstatus", "product"),
        AddTenantForeignKey("sealhistory", "shop"),
        AddTenantForeignKey("sealhistory", "product"),
    ]
