from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Campaign',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=200)),
                ('template', fields.CharField(max_length=200)),
                ('asks', fields.TextField(default='[]', unique=False)),
                ('audience', fields.TextField(default='{}', unique=False)),
                ('from_address', fields.CharField(default='', max_length=320)),
                ('reply_to', fields.CharField(default='', max_length=320)),
                ('state', fields.CharField(default='draft', db_index=True, max_length=16)),
                ('pacing', fields.TextField(default='{}', unique=False)),
                ('follow_up_of', fields.ForeignKeyField('models.Campaign', source_field='follow_up_of_id', null=True, db_constraint=True, to_field='id', related_name='follow_ups', on_delete=OnDelete.SET_NULL)),
                ('pause_reason', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'campaign', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Contact',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('email', fields.CharField(null=True, unique=True, max_length=320)),
                ('name', fields.CharField(default='', max_length=300)),
                ('first_name', fields.CharField(default='', max_length=150)),
                ('last_name', fields.CharField(default='', max_length=150)),
                ('honorific', fields.CharField(default='', max_length=60)),
                ('role', fields.CharField(default='', max_length=300)),
                ('kind', fields.CharField(default='other', db_index=True, max_length=32)),
                ('organisation', fields.CharField(default='', max_length=300)),
                ('country', fields.CharField(default='', db_index=True, max_length=2)),
                ('language', fields.CharField(default='', max_length=2)),
                ('political_group', fields.CharField(default='', max_length=100)),
                ('national_party', fields.CharField(default='', max_length=300)),
                ('committees', fields.TextField(default='[]', unique=False)),
                ('tags', fields.TextField(default='[]', unique=False)),
                ('ep_id', fields.CharField(null=True, unique=True, max_length=20)),
                ('notes', fields.TextField(default='', unique=False)),
                ('source_file', fields.CharField(default='', max_length=500)),
                ('source_date', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'contact', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Event',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('actor', fields.CharField(max_length=200)),
                ('action', fields.CharField(db_index=True, max_length=64)),
                ('contact', fields.ForeignKeyField('models.Contact', source_field='contact_id', null=True, db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.CASCADE)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', null=True, db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.SET_NULL)),
                ('details', fields.TextField(default='{}', unique=False)),
            ],
            options={'table': 'event', 'app': 'models', 'pk_attr': 'id', 'table_description': 'The audit log: who did what, and when, for every change.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Setting',
            fields=[
                ('key', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('value', fields.TextField(unique=False)),
            ],
            options={'table': 'setting', 'app': 'models', 'pk_attr': 'key', 'table_description': 'Installation-wide values: the Message-ID key and the suppression salt.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Suppression',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('email', fields.CharField(null=True, unique=True, max_length=320)),
                ('email_hash', fields.CharField(unique=True, max_length=64)),
                ('reason', fields.CharField(max_length=32)),
                ('note', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'suppression', 'app': 'models', 'pk_attr': 'id', 'table_description': 'The do-not-contact list: opt-outs, hard bounces, complaints, erasures.'},
            bases=['Model'],
        ),
    ]
