"""Composite (x_id, company_id) foreign keys: no row can point into another company."""

from django.db import migrations

from companies.db import AddTenantForeignKey


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0001_initial"),
        ("invitations", "0002_tenant_foreign_keys"),
    ]

    operations = [
        AddTenantForeignKey("review", "shop"),
        AddTenantForeignKey("review", "product"),
        AddTenantForeignKey("review", "invitation"),
        AddTenantForeignKey("reviewversion", "shop"),
        AddTenantForeignKey("reviewversion", "review"),
    ]
