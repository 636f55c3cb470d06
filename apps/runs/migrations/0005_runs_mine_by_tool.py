# My runs filtered by tool (issue 15): an index for exactly those pages, and the tool foreign
# key's own index goes (`runs_of_tool` starts with the tool, so it serves lookups and cascades;
# the plain one let the planner read a tool's runs of every user for one user's page). Both
# CONCURRENTLY, as in 0004: the runs table is large and busy. The new index comes first.

import django.db.models.deletion
from django.conf import settings
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('runs', '0004_runs_history_indexes'),
        ('sandbox', '0002_snapshot_content_hash'),
        ('tools', '0003_catalog_search_and_favorites'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='toolrun',
            index=models.Index(fields=['requested_by', 'context', 'tool', '-requested_at', '-id'], name='runs_mine_by_tool'),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='toolrun',
                    name='tool',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='runs', to='tools.tool'),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX CONCURRENTLY IF EXISTS "runs_toolrun_tool_id_6751a627"',
                    reverse_sql='CREATE INDEX CONCURRENTLY IF NOT EXISTS "runs_toolrun_tool_id_6751a627" ON "runs_toolrun" ("tool_id")',
                ),
            ],
        ),
    ]
