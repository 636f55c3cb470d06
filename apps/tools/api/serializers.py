from typing import Any

from rest_framework import serializers

from apps.core.api.fields import (
    OptionalCharField,
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
)
from apps.core.exceptions import BadRequest
from apps.core.identifiers import MAX_BIGINT
from apps.locks.services import LockState
from apps.tools.models import Tool, ToolVersion


class ToolSerializer(serializers.Serializer[Tool]):
    id = serializers.UUIDField(read_only=True)
    project_id = serializers.UUIDField(read_only=True)
    slug = serializers.CharField(read_only=True)
    title = serializers.CharField(read_only=True)
    summary = serializers.CharField(read_only=True)
    is_published = serializers.BooleanField(read_only=True)
    active_version_id = serializers.UUIDField(read_only=True, allow_null=True)
    draft_head_id = serializers.UUIDField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)


class VersionSummarySerializer(serializers.Serializer[ToolVersion]):
    id = serializers.UUIDField(read_only=True)
    version_number = serializers.IntegerField(read_only=True)
    state = serializers.CharField(read_only=True)
    created_by_id = serializers.IntegerField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    reviewed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    published_at = serializers.DateTimeField(read_only=True, allow_null=True)


class ToolCreateSerializer(serializers.Serializer[None]):
    title = StrictCharField(max_length=255)
    summary = OptionalCharField(default="", allow_blank=True, max_length=5000)


class LockRequestSerializer(serializers.Serializer[None]):
    draft_head_id = serializers.UUIDField()
    force = serializers.BooleanField(required=False, default=False)
    reason = StrictCharField(required=False, default="", allow_blank=True, max_length=2000)
    lock_token = StrictIntegerField(
        required=False,
        default=None,
        allow_null=True,
        min_value=1,
        max_value=MAX_BIGINT,
        help_text="A heartbeat: the token you hold. Refreshes only while it is current, else "
        "409 DRAFT_LOCK_STALE_TOKEN (you took the lock again elsewhere).",
    )
    new_token = StrictBooleanField(
        required=False,
        default=False,
        help_text="A new acquisition: if you already hold the lock (another window or client), "
        "take it over with a new token; the old token becomes stale.",
    )


class ContentSerializer(serializers.Serializer[None]):
    """Draft content; an omitted or null field keeps the value of the version it derives from
    (send "" to clear the usage instructions)."""

    entrypoint = OptionalCharField(default=None, max_length=128)
    source_code = OptionalCharField(default=None, trim_whitespace=False, max_length=2_000_000)
    input_schema = serializers.JSONField(required=False, default=None, allow_null=True)
    settings_schema = serializers.JSONField(required=False, default=None, allow_null=True)
    usage_instructions = OptionalCharField(default=None, allow_blank=True, max_length=100_000)
    change_summary = OptionalCharField(default="", allow_blank=True, max_length=2000)


class DraftCreateSerializer(ContentSerializer):
    derived_from_version_id = serializers.UUIDField(required=False, default=None, allow_null=True)


class DraftSaveSerializer(ContentSerializer):
    expected_parent_version_id = serializers.UUIDField()


class NoteSerializer(serializers.Serializer[None]):
    text = OptionalCharField(default="", allow_blank=True, max_length=5000)


class SchemasSerializer(serializers.Serializer[None]):
    input_schema = serializers.JSONField(required=False, default=None, allow_null=True)
    settings_schema = serializers.JSONField(required=False, default=None, allow_null=True)


def lock_json(state: LockState, *, user_id: int) -> dict[str, Any]:
    return {
        "tool_id": state.tool_id,
        "draft_head_id": state.draft_head_id,
        "locked_by_user_id": state.holder_id,
        "locked_by_email": state.holder_email,
        "expires_at": state.expires_at,
        "is_owner": state.holder_id == user_id,
        "lock_token": state.token,
        "takeover": state.takeover_for(user_id),
    }


def lock_token_header(raw: str | None) -> int | None:
    """`X-Draft-Lock-Token`, when sent: a positive integer."""
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_BIGINT:
        raise BadRequest(
            "X-Draft-Lock-Token must be a positive integer.", code="INVALID_LOCK_TOKEN"
        )
    return int(raw)


class LockTakeoverSerializer(serializers.Serializer[None]):
    by_user_id = serializers.IntegerField()
    from_user_id = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField()
    taken_at = serializers.DateTimeField(allow_null=True)


class LockSerializer(serializers.Serializer[None]):
    """Documentation of lock responses (built by `lock_json`)."""

    tool_id = serializers.UUIDField()
    draft_head_id = serializers.UUIDField()
    locked_by_user_id = serializers.IntegerField(allow_null=True)
    locked_by_email = serializers.EmailField(allow_null=True)
    expires_at = serializers.DateTimeField()
    is_owner = serializers.BooleanField()
    lock_token = serializers.IntegerField(help_text="Fencing token; send it as X-Draft-Lock-Token.")
    takeover = LockTakeoverSerializer(
        allow_null=True,
        help_text="The admin's forced takeover behind this holding (with the reason they gave); "
        "shown only to the user it displaced and to the holder, else null.",
    )


class VersionResultSerializer(serializers.Serializer[None]):
    version_id = serializers.UUIDField()
    version_number = serializers.IntegerField()
    state = serializers.CharField()


class SchemaValidationSerializer(serializers.Serializer[None]):
    valid = serializers.BooleanField()
    issues = serializers.ListField(child=serializers.DictField())


class MetadataSerializer(serializers.Serializer[None]):
    title = StrictCharField(max_length=255)
    summary = OptionalCharField(default=None, allow_blank=True, max_length=5000)


class SlugSerializer(serializers.Serializer[None]):
    slug = StrictCharField(max_length=128)


class TaxonomySerializer(serializers.Serializer[None]):
    profession_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), max_length=100
    )
    category_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), max_length=100
    )


class MaintainerAddSerializer(serializers.Serializer[None]):
    email = StrictCharField(max_length=254)
    reason = StrictCharField(required=False, default="", allow_blank=True, max_length=2000)


class FavoriteSerializer(serializers.Serializer[None]):
    tool_id = serializers.UUIDField(read_only=True)
    is_favorite = serializers.BooleanField(read_only=True)
