"""The Bundesbank base rate (§ 247 BGB) since mid-2016, for default interest (R36).

Staff add each new rate (published for 1 January and 1 July) in the admin."""

from decimal import Decimal

from django.db import migrations

RATES = [
    ("2016-07-01", "-0.88"),
    ("2023-01-01", "1.62"),
    ("2023-07-01", "3.12"),
    ("2024-01-01", "3.62"),
    ("2024-07-01", "3.37"),
    ("2025-01-01", "2.27"),
    ("2025-07-01", "1.27"),
    ("2026-01-01", "1.27"),
]


def seed(apps, schema_editor):
    BaseRate = apps.get_model("payments", "BaseRate")
    for valid_from, rate in RATES:
        BaseRate.objects.get_or_create(valid_from=valid_from, defaults={"rate": Decimal(rate)})


def unseed(apps, schema_editor):
    BaseRate = apps.get_model("payments", "BaseRate")
    BaseRate.objects.filter(valid_from__in=[v for v, _r in RATES]).delete()


class Migration(migrations.Migration):
    dependencies = [("payments", "0001_mandates_payments_dunning")]

    operations = [migrations.RunPython(seed, unseed)]
