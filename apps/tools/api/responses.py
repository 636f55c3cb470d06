"""Documentation of the editor endpoints' answers that are built as dicts (views, queries):
serializers that drf-spectacular turns into typed OpenAPI components, never used to render."""

from rest_framework import serializers

from apps.tools.api.serializers import LockSerializer, ToolSerializer, VersionSummarySerializer


class EditorBootSerializer(serializers.Serializer[None]):
    tool = ToolSerializer()
    versions = VersionSummarySerializer(many=True, help_text="The 50 newest versions.")
    selected_version = VersionSummarySerializer(allow_null=True)
    draft_head_id = serializers.UUIDField(allow_null=True)
    draft_lock = LockSerializer(
        allow_null=True, help_text="Only while a live lock sits on the current head."
    )
    save_mode = serializers.ChoiceField(choices=["snapshot", "create_draft"])
    parent_version_id = serializers.UUIDField(allow_null=True)
    create_draft_from_version_id = serializers.UUIDField(allow_null=True)
    entrypoint = serializers.CharField()
    source_code = serializers.CharField()
    input_schema = serializers.JSONField(help_text="The form's fields (docs/runner.md).")
    settings_schema = serializers.JSONField(allow_null=True)
    usage_instructions = serializers.CharField(allow_null=True)


class LockReleasedSerializer(serializers.Serializer[None]):
    tool_id = serializers.UUIDField()


class MaintainerSerializer(serializers.Serializer[None]):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    role = serializers.CharField(help_text="The user's global role.")


class MaintainersSerializer(serializers.Serializer[None]):
    tool_id = serializers.UUIDField()
    owner_user_id = serializers.IntegerField(allow_null=True)
    maintainers = MaintainerSerializer(many=True)


class DraftCreatedSerializer(serializers.Serializer[None]):
    version_id = serializers.UUIDField()
    version_number = serializers.IntegerField()
