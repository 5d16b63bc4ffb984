from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0002_ledger_and_replies')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Delivery',
            index=Index(fields=['campaign_id', 'state', 'sent_at', 'contact_id', 'language']),
        ),
    ]
