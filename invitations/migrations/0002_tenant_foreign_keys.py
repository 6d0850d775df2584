"""Composite (x_id, company_id) foreign keys: no row can point into another company."""

from django.db import migrations

from companies.db import AddTenantForeignKey


class Migration(migrations.Migration):
    dependencies = [
        ("invitations", "0001_initial"),
        ("companies", "0002_tenant_foreign_keys"),
    ]

    operations = [
        AddTenantForeignKey("order", "shop"),
        AddTenantForeignKey("orderitem", "shop"),
        AddTenantForeignKey("orderitem", "order"),
        AddTenantForeignKey("orderitem", "product"),
        AddTenantForeignKey("invitation", "shop"),
        AddTenantForeignKey("invitation", "order"),
        AddTenantForeignKey("suppression", "shop"),
        AddTenantForeignKey("invitationemail", "shop"),
        AddTenantForeignKey("invitationemail", "invitation"),
        AddTenantForeignKey("emailtemplate", "shop"),
        AddTenantForeignKey("idempotencykey", "shop"),
        AddTenantForeignKey("orderimport", "shop"),
    ]
