from typing import Any

from django.db import migrations, models


def hash_existing_snapshots(apps: Any, schema_editor: Any) -> None:
    """Snapshots made before the field existed get the hash their content has (they live 24 h at
    most, so there are few)."""
    # The one hash of tool content, the one versions use.
    from apps.tools.content import ToolContent

    snapshot_model = apps.get_model("sandbox", "SandboxSnapshot")
    for snapshot in snapshot_model.objects.filter(content_hash="").iterator():
        snapshot.content_hash = ToolContent.of(snapshot).content_hash
        snapshot.save(update_fields=["content_hash"])


class Migration(migrations.Migration):
    dependencies = [
        ("sandbox", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="sandboxsnapshot",
            name="content_hash",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(hash_existing_snapshots, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="sandboxsnapshot",
            index=models.Index(fields=["tool", "content_hash"], name="sandbox_snapshot_content"),
        ),
    ]
