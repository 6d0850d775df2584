# Billing: terminations (R33, R39), upgrades (R40), stored invoice PDFs (R34), price increases
# (R38), and the VAT treatment of damages and default interest (R36).

import django.db.models.deletion
from django.db import migrations, models

from billing.db import ImmutableTable
from companies.db import AddTenantForeignKey


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0002_invoice_charges'),
        ('companies', '0005_company_email'),
    ]

    operations = [
        migrations.AddField(
            model_name='contract',
            name='billed_from',
            field=models.DateField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='contract',
            name='termination_kind',
            field=models.CharField(blank=True, choices=[('', '-'), ('customer', 'by the customer (R33)'), ('staff', "by staff on the customer's behalf (R33)"), ('extraordinary', 'extraordinary, for good cause (R39)')], default='', max_length=16),
        ),
        migrations.AddField(
            model_name='contract',
            name='termination_reason',
            field=models.CharField(blank=True, max_length=500),
        ),
        migrations.AddField(
            model_name='plan',
            name='upgrade_offer',
            field=models.BooleanField(default=False, help_text='offered to customers in the backend as an upgrade (R40)'),
        ),
        migrations.CreateModel(
            name='InvoiceDocument',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('pdf', models.BinaryField()),
                ('sha256', models.CharField(max_length=64)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('company', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='companies.company')),
                ('invoice', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='document', to='billing.invoice')),
            ],
            options={
                'abstract': False,
            },
        ),
        migrations.CreateModel(
            name='PriceIncrease',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('old_price', models.DecimalField(decimal_places=2, max_digits=12)),
                ('new_price', models.DecimalField(decimal_places=2, max_digits=12)),
                ('announced_on', models.DateField()),
                ('effective_on', models.DateField()),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('company', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='companies.company')),
                ('contract', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='billing.contract')),
                ('plan', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='billing.plan')),
            ],
            options={
                'ordering': ['-effective_on', '-id'],
                'constraints': [models.CheckConstraint(condition=models.Q(('new_price__gt', models.F('old_price'))), name='priceincrease_is_increase')],
            },
        ),
        migrations.AlterField(
            model_name='invoice',
            name='vat_treatment',
            field=models.CharField(choices=[('de_vat', 'German VAT'), ('reverse_charge', 'reverse charge (EU business)'), ('no_vat', 'not taxable in Germany (outside the EU)'), ('damages', 'not taxable: damages and default interest')], max_length=16),
        ),
        AddTenantForeignKey("invoicedocument", "invoice"),
        AddTenantForeignKey("priceincrease", "contract"),
        ImmutableTable("invoicedocument"),
    ]
