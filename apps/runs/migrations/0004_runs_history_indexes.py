# Indexes of the run history pages (My runs, the maintainers' run list).
# Built CONCURRENTLY: the runs table is large and busy, and a plain CREATE INDEX would block every
# new run for as long as it takes. The new keyset index is made before the old one goes, so one
# of them always serves the runs lists.

from django.conf import settings
from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('runs', '0003_requester_role'),
        ('sandbox', '0001_initial'),
        ('tools', '0002_tool_origin'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='toolrun',
            index=models.Index(fields=['requested_by', 'context', '-requested_at', '-id'], include=('tool',), name='runs_mine_keyset'),
        ),
        AddIndexConcurrently(
            model_name='toolrun',
            index=models.Index(fields=['tool', 'context', '-requested_at'], name='runs_of_tool'),
        ),
        RemoveIndexConcurrently(
            model_name='toolrun',
            name='runs_mine',
        ),
    ]
