"""Top-ups: ``TopUp`` and the account a payment's capture credits (``Payment.credit_account``)."""

import django.db.models.deletion
import payments.models
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        ('merchants', '0004_lean_indexes'),
        ('payments', '0003_admin_action_permissions'),
    ]

    operations = [
        migrations.AddField(
            model_name='historicalpayment',
            name='credit_account',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='accounts.ledgeraccount'),
        ),
        migrations.AddField(
            model_name='payment',
            name='credit_account',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.ledgeraccount'),
        ),
        migrations.CreateModel(
            name='TopUp',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('public_id', models.CharField(default=payments.models.new_top_up_id, editable=False, max_length=40)),
                ('amount', models.DecimalField(decimal_places=3, max_digits=19)),
                ('currency', models.CharField(max_length=3)),
                ('metadata', models.JSONField(blank=True, default=dict)),
                ('livemode', models.BooleanField(default=False)),
                ('created', models.DateTimeField(auto_now_add=True)),
                ('account', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.ledgeraccount')),
                ('merchant', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='top_ups', to='merchants.merchant')),
                ('payment', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='top_up', to='payments.payment')),
            ],
            options={
                'ordering': ['-id'],
                'indexes': [models.Index(fields=['merchant', '-id'], name='payments_topup_merchant'), models.Index(fields=['merchant', 'created'], name='payments_topup_mer_created')],
                'constraints': [models.UniqueConstraint(fields=('public_id',), name='payments_topup_public_id_unique'), models.CheckConstraint(condition=models.Q(('amount__gt', 0)), name='payments_topup_amount_positive'), models.CheckConstraint(condition=models.Q(('currency__regex', '^[A-Z]{3}$')), name='payments_topup_currency_iso')],
            },
        ),
    ]
