from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='BounceScore',
            fields=[
                ('email', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=320)),
                ('score', fields.FloatField(default=0.0)),
                ('last_bounce_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'bounce_score', 'app': 'models', 'pk_attr': 'email', 'table_description': 'Soft-bounce score per address (Mailman style: at most one point a day).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Delivery',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('contact', fields.ForeignKeyField('models.Contact', source_field='contact_id', null=True, db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.SET_NULL)),
                ('recipient', fields.CharField(default='', max_length=320)),
                ('domain', fields.CharField(default='', db_index=True, max_length=255)),
                ('language', fields.CharField(default='', max_length=2)),
                ('subject', fields.TextField(default='', unique=False)),
                ('message', fields.BinaryField(null=True)),
                ('message_id', fields.CharField(unique=True, max_length=255)),
                ('token', fields.CharField(unique=True, max_length=32)),
                ('state', fields.CharField(default='planned', max_length=16)),
                ('scheduled_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('next_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('attempts', fields.IntField(default=0)),
                ('lease_owner', fields.CharField(null=True, max_length=100)),
                ('lease_expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('first_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('smtp_code', fields.IntField(null=True)),
                ('smtp_text', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'delivery', 'app': 'models', 'unique_together': (('campaign', 'contact'),), 'indexes': [Index(fields=['state', 'scheduled_at'])], 'pk_attr': 'id', 'table_description': 'One letter: a (campaign, contact) pair, its rendered message and its fate.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MailboxState',
            fields=[
                ('key', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=500)),
                ('uidvalidity', fields.BigIntField()),
                ('last_uid', fields.BigIntField(default=0)),
            ],
            options={'table': 'mailbox_state', 'app': 'models', 'pk_attr': 'key', 'table_description': 'Where `replies fetch` stopped in each IMAP folder (UIDVALIDITY + last UID).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PacingSlot',
            fields=[
                ('key', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=255)),
                ('next_slot_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'pacing_slot', 'app': 'models', 'pk_attr': 'key', 'table_description': 'The next moment a letter may go to a domain ("*" = all domains): pacing at claim time.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Reply',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('message_id', fields.CharField(unique=True, max_length=500)),
                ('kind', fields.CharField(db_index=True, max_length=16)),
                ('contact', fields.ForeignKeyField('models.Contact', source_field='contact_id', null=True, db_constraint=True, to_field='id', related_name='replies', on_delete=OnDelete.SET_NULL)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', null=True, db_constraint=True, to_field='id', related_name='replies', on_delete=OnDelete.SET_NULL)),
                ('delivery', fields.ForeignKeyField('models.Delivery', source_field='delivery_id', null=True, db_constraint=True, to_field='id', related_name='replies', on_delete=OnDelete.SET_NULL)),
                ('matched_by', fields.CharField(default='', max_length=16)),
                ('from_address', fields.CharField(default='', max_length=320)),
                ('subject', fields.TextField(default='', unique=False)),
                ('body', fields.TextField(null=True, unique=False)),
                ('received_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('failed_address', fields.CharField(default='', max_length=320)),
                ('dsn_status', fields.CharField(default='', max_length=16)),
                ('return_date', fields.CharField(default='', max_length=40)),
                ('opt_out_request', fields.BooleanField(default=False)),
                ('reviewed', fields.BooleanField(default=False)),
                ('source', fields.CharField(default='', max_length=500)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'reply', 'app': 'models', 'pk_attr': 'id', 'table_description': "Anything that came back: a person's reply, an auto-reply, a bounce, a complaint."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Stance',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('contact', fields.ForeignKeyField('models.Contact', source_field='contact_id', db_constraint=True, to_field='id', related_name='stances', on_delete=OnDelete.CASCADE)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', null=True, db_constraint=True, to_field='id', related_name='stances', on_delete=OnDelete.SET_NULL)),
                ('reply', fields.ForeignKeyField('models.Reply', source_field='reply_id', null=True, db_constraint=True, to_field='id', related_name='stances', on_delete=OnDelete.SET_NULL)),
                ('ask', fields.CharField(db_index=True, max_length=64)),
                ('stance', fields.CharField(max_length=16)),
                ('source', fields.CharField(default='reply', max_length=16)),
                ('note', fields.TextField(default='', unique=False)),
                ('recorded_by', fields.CharField(default='', max_length=200)),
                ('recorded_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'stance', 'app': 'models', 'pk_attr': 'id', 'table_description': "A target's position on one ask, as recorded by a campaigner (latest wins)."},
            bases=['Model'],
        ),
    ]
