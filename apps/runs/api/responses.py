"""Documentation of the run endpoints' answers (built as dicts in serializers.py and the views):
serializers that drf-spectacular turns into typed OpenAPI components, never used to render."""

from rest_framework import serializers

from apps.runs.models import RunContext, RunStatus


class AcceptedRunSerializer(serializers.Serializer[None]):
    """202 of every run endpoint: the run is stored and queued; poll its details."""

    run_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=RunStatus.choices)
    snapshot_id = serializers.UUIDField(
        required=False, allow_null=True, help_text="Sandbox runs: the snapshot run."
    )
    state_rev = serializers.IntegerField(
        required=False, allow_null=True, help_text="Action runs: the session's revision."
    )


class ErrorLocationSerializer(serializers.Serializer[None]):
    line = serializers.IntegerField()
    col = serializers.IntegerField()


class ArtifactSerializer(serializers.Serializer[None]):
    artifact_id = serializers.CharField()
    path = serializers.CharField()
    bytes = serializers.IntegerField()
    download_url = serializers.CharField()


class RunDetailsSerializer(serializers.Serializer[None]):
    run_id = serializers.UUIDField()
    tool_id = serializers.UUIDField()
    version_id = serializers.UUIDField()
    snapshot_id = serializers.UUIDField(allow_null=True)
    context = serializers.ChoiceField(choices=RunContext.choices)  # type: ignore[assignment]
    status = serializers.ChoiceField(choices=RunStatus.choices)
    requested_at = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    action_id = serializers.CharField(allow_null=True)
    session_context = serializers.CharField()
    input_manifest = serializers.JSONField(help_text="The uploaded files: names and sizes.")
    input_values = serializers.JSONField(help_text="The form values, by field name.")
    error_summary = serializers.CharField(allow_null=True)
    error_location = ErrorLocationSerializer(
        allow_null=True, help_text="Where the pre-flight syntax check failed."
    )
    stdout = serializers.CharField(allow_null=True)
    stderr = serializers.CharField(allow_null=True)
    stdout_bytes = serializers.IntegerField(allow_null=True)
    stderr_bytes = serializers.IntegerField(allow_null=True)
    stdout_max_bytes = serializers.IntegerField()
    stderr_max_bytes = serializers.IntegerField()
    stdout_truncated = serializers.BooleanField()
    stderr_truncated = serializers.BooleanField()
    ui_payload = serializers.JSONField(allow_null=True, help_text="See docs/runner.md.")
    artifacts = ArtifactSerializer(many=True)


class RunSummarySerializer(serializers.Serializer[None]):
    run_id = serializers.UUIDField()
    tool_id = serializers.UUIDField()
    tool_title = serializers.CharField()
    context = serializers.ChoiceField(choices=RunContext.choices)  # type: ignore[assignment]
    status = serializers.ChoiceField(choices=RunStatus.choices)
    action_id = serializers.CharField(allow_null=True)
    requested_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class MyRunsSerializer(serializers.Serializer[None]):
    runs = RunSummarySerializer(many=True, help_text="The 50 newest production runs.")
    count_this_month = serializers.IntegerField()


class UploadConstraintsSerializer(serializers.Serializer[None]):
    max_files = serializers.IntegerField()
    max_file_bytes = serializers.IntegerField()
    max_total_bytes = serializers.IntegerField()


class RuntimeToolSerializer(serializers.Serializer[None]):
    id = serializers.UUIDField()
    slug = serializers.CharField()
    title = serializers.CharField()
    summary = serializers.CharField()
    usage_instructions = serializers.CharField(allow_null=True)
    usage_instructions_hash = serializers.CharField()
    usage_instructions_seen = serializers.BooleanField()
    input_schema = serializers.JSONField(help_text="The form's fields (docs/runner.md).")
    has_settings = serializers.BooleanField()
    upload_constraints = UploadConstraintsSerializer()


class UsageInstructionsStateSerializer(serializers.Serializer[None]):
    tool_id = serializers.UUIDField()
    usage_instructions_hash = serializers.CharField()
    usage_instructions_seen = serializers.BooleanField()


class SettingsStateSerializer(serializers.Serializer[None]):
    tool_id = serializers.UUIDField()
    schema_version = serializers.CharField()
    settings_schema = serializers.JSONField()
    values = serializers.JSONField(help_text="The saved values, by field name.")
    state_rev = serializers.IntegerField()
    draft_head_id = serializers.UUIDField(
        required=False, help_text="Sandbox settings: the draft head they belong to."
    )


class SessionStateSerializer(serializers.Serializer[None]):
    tool_id = serializers.UUIDField()
    context = serializers.CharField()  # type: ignore[assignment]
    state = serializers.JSONField(help_text="What the tool's actions keep between runs.")
    state_rev = serializers.IntegerField()
    latest_run_id = serializers.UUIDField(allow_null=True)
    pending_run_id = serializers.UUIDField(allow_null=True)


class SessionSerializer(serializers.Serializer[None]):
    session_state = SessionStateSerializer()


class SessionFileSerializer(serializers.Serializer[None]):
    name = serializers.CharField()
    bytes = serializers.IntegerField()


class SessionFilesSerializer(serializers.Serializer[None]):
    tool_id = serializers.UUIDField()
    context = serializers.CharField()  # type: ignore[assignment]
    files = SessionFileSerializer(many=True)


class SandboxSessionFilesSerializer(serializers.Serializer[None]):
    tool_id = serializers.UUIDField()
    version_id = serializers.UUIDField()
    snapshot_id = serializers.CharField(allow_null=True)
    files = SessionFileSerializer(many=True)
