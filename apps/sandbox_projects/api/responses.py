"""Documentation of the merge endpoints' answers (built as dicts by the services and views):
serializers that drf-spectacular turns into typed OpenAPI components, never used to render."""

from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers


class ToolChangeSerializer(serializers.Serializer[None]):
    source_tool_id = serializers.UUIDField()
    title = serializers.CharField()
    slug = serializers.CharField()
    target_tool_id = serializers.UUIDField(allow_null=True)
    action = serializers.ChoiceField(choices=["create", "update"])
    locked_by_user_id = serializers.IntegerField(allow_null=True)


class MergePlanSerializer(serializers.Serializer[None]):
    """`dry_run: true`: what the merge would do now."""

    source_project_id = serializers.UUIDField()
    target_project_id = serializers.UUIDField()
    collections_to_add = serializers.ListField(child=serializers.CharField())
    collections_untouched = serializers.ListField(child=serializers.CharField())
    tools_to_propose = ToolChangeSerializer(many=True)
    tools_locked = ToolChangeSerializer(many=True)


class ProposedToolSerializer(serializers.Serializer[None]):
    source_tool_id = serializers.UUIDField()
    target_tool_id = serializers.UUIDField()
    version_id = serializers.UUIDField()
    created = serializers.BooleanField()


class MergeRecordSerializer(serializers.Serializer[None]):
    """A merge that happened."""

    id = serializers.UUIDField()
    source_project_id = serializers.UUIDField(allow_null=True)
    source_name = serializers.CharField()
    target_project_id = serializers.UUIDField()
    actor_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    collections_created = serializers.ListField(child=serializers.CharField())
    tools_proposed = ProposedToolSerializer(many=True)


MERGE_RESULT = PolymorphicProxySerializer(
    component_name="MergeResult",
    serializers=[MergePlanSerializer, MergeRecordSerializer],
    resource_type_field_name=None,
)
