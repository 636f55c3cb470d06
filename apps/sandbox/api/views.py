"""The editor's sandbox preview: run unsaved code, continue with actions, sandbox settings, and
the run details and artifacts of the caller's own runs. Runs answer 202; poll the run."""

from collections.abc import Mapping
from typing import Any

from django.http.response import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.access import authenticated_user
from apps.core.api.validation import body_object, validated
from apps.runs import access as runs_access
from apps.runs import services as runs
from apps.runs.api.files import (
    ARTIFACT_HEADERS,
    ARTIFACT_RESPONSES,
    RUN_PARSERS,
    artifact_response,
    uploaded_files,
)
from apps.runs.api.responses import (
    AcceptedRunSerializer,
    RunDetailsSerializer,
    SandboxSessionFilesSerializer,
    SessionStateSerializer,
    SettingsStateSerializer,
)
from apps.runs.api.serializers import (
    ActionSerializer,
    SettingsSaveSerializer,
    accepted_run,
    run_details,
    session_json,
)
from apps.runs.models import RunContext
from apps.sandbox import services
from apps.tools.access import get_version_for_user
from apps.tools.api.serializers import lock_token_header

ARTIFACT_URL = "/api/v1/editor/tool-runs/{run_id}/artifacts/{{artifact_id}}"
_SNAPSHOT_ID = OpenApiParameter(
    "snapshot_id",
    OpenApiTypes.UUID,
    description="The snapshot (a sandbox run) whose session to read.",
)


def _lock_token(request: Request) -> int | None:
    return lock_token_header(request.headers.get("X-Draft-Lock-Token"))


class RunSandboxView(APIView):
    """Multipart: `snapshot` (JSON text), `inputs` (JSON text), `files`, `session_files_mode`,
    `session_context`. A JSON body with the same keys (objects instead of text) works too."""

    parser_classes = RUN_PARSERS

    @extend_schema(request=OpenApiTypes.OBJECT, responses={202: AcceptedRunSerializer})
    def post(self, request: Request, version_id: str) -> Response:
        user = authenticated_user(request)
        version = get_version_for_user(user=user, version_id=version_id)
        data = body_object(request)
        inputs = _json_object_field(data, "inputs")
        run, created = services.run_sandbox_preview(
            version=version,
            actor=user,
            request=services.PreviewRequest(
                snapshot=_json_object_field(data, "snapshot"),
                inputs={} if inputs is None else inputs,
                uploads=uploaded_files(request),
                session_files_mode=str(data.get("session_files_mode") or "none"),
                session_context=_text_or_none(data.get("session_context")),
                lock_token=_lock_token(request),
            ),
        )
        return Response(
            accepted_run(run, snapshot_id=str(created.pk), state_rev=None),
            status=status.HTTP_202_ACCEPTED,
        )


class ReviewRunView(APIView):
    """`POST …/review-run` (global admins, a version in review): a sandbox preview of the
    version's own content. Multipart `inputs` (JSON text) and `files`, or a JSON body."""

    parser_classes = RUN_PARSERS

    @extend_schema(request=OpenApiTypes.OBJECT, responses={202: AcceptedRunSerializer})
    def post(self, request: Request, version_id: str) -> Response:
        user = authenticated_user(request)
        version = get_version_for_user(user=user, version_id=version_id)
        inputs = _json_object_field(body_object(request), "inputs")
        run, snapshot = services.run_review_preview(
            version=version,
            actor=user,
            inputs={} if inputs is None else inputs,
            uploads=uploaded_files(request),
        )
        return Response(
            accepted_run(run, snapshot_id=str(snapshot.pk), state_rev=None),
            status=status.HTTP_202_ACCEPTED,
        )


class SandboxActionSerializer(ActionSerializer):
    snapshot_id = serializers.JSONField()


class StartSandboxActionView(APIView):
    @extend_schema(request=SandboxActionSerializer, responses={202: AcceptedRunSerializer})
    def post(self, request: Request, version_id: str) -> Response:
        user = authenticated_user(request)
        version = get_version_for_user(user=user, version_id=version_id)
        data = validated(SandboxActionSerializer, request)
        run, session = services.start_sandbox_action(
            version=version,
            actor=user,
            request=services.ActionRequest(
                snapshot_id=data["snapshot_id"],
                action_id=data["action_id"],
                input=data["input"],
                expected_state_rev=data["expected_state_rev"],
                lock_token=_lock_token(request),
            ),
        )
        return Response(
            accepted_run(run, snapshot_id=str(run.snapshot_id), state_rev=session.state_rev),
            status=status.HTTP_202_ACCEPTED,
        )


class SandboxSessionView(APIView):
    @extend_schema(parameters=[_SNAPSHOT_ID], responses={200: SessionStateSerializer})
    def get(self, request: Request, version_id: str) -> Response:
        user = authenticated_user(request)
        version = get_version_for_user(user=user, version_id=version_id)
        session = services.sandbox_session(
            version=version, actor=user, snapshot_id=request.query_params.get("snapshot_id")
        )
        return Response(session_json(session))


class SandboxSessionFilesView(APIView):
    @extend_schema(parameters=[_SNAPSHOT_ID], responses={200: SandboxSessionFilesSerializer})
    def get(self, request: Request, version_id: str) -> Response:
        user = authenticated_user(request)
        version = get_version_for_user(user=user, version_id=version_id)
        snapshot_id = request.query_params.get("snapshot_id")
        files = services.sandbox_session_files(version=version, actor=user, snapshot_id=snapshot_id)
        return Response(
            {
                "tool_id": str(version.tool_id),
                "version_id": str(version.pk),
                "snapshot_id": snapshot_id,
                "files": files,
            }
        )


class SettingsSchemaSerializer(serializers.Serializer[None]):
    settings_schema = serializers.JSONField(required=False, default=None, allow_null=True)


class SandboxSettingsSaveSerializer(SettingsSaveSerializer, SettingsSchemaSerializer):
    pass


class ResolveSandboxSettingsView(APIView):
    @extend_schema(request=SettingsSchemaSerializer, responses={200: SettingsStateSerializer})
    def post(self, request: Request, version_id: str) -> Response:
        user = authenticated_user(request)
        version = get_version_for_user(user=user, version_id=version_id)
        data = validated(SettingsSchemaSerializer, request)
        state = services.resolve_sandbox_settings(
            version=version,
            actor=user,
            settings_schema=data["settings_schema"],
            lock_token=_lock_token(request),
        )
        return Response({**state.as_json(), "draft_head_id": str(version.pk)})


class SaveSandboxSettingsView(APIView):
    @extend_schema(request=SandboxSettingsSaveSerializer, responses={200: SettingsStateSerializer})
    def put(self, request: Request, version_id: str) -> Response:
        user = authenticated_user(request)
        version = get_version_for_user(user=user, version_id=version_id)
        data = validated(SandboxSettingsSaveSerializer, request)
        state = services.save_sandbox_settings(
            version=version, actor=user, lock_token=_lock_token(request), **data
        )
        return Response({**state.as_json(), "draft_head_id": str(version.pk)})


class EditorRunView(APIView):
    @extend_schema(responses={200: RunDetailsSerializer})
    def get(self, request: Request, run_id: str) -> Response:
        run = runs_access.get_run_for_user(
            user=request.user, run_id=run_id, context=RunContext.SANDBOX
        )
        return Response(run_details(run, artifact_url=ARTIFACT_URL.format(run_id=run.pk)))


class EditorRunArtifactView(APIView):
    @extend_schema(responses=ARTIFACT_RESPONSES, parameters=ARTIFACT_HEADERS)
    def get(self, request: Request, run_id: str, artifact_id: str) -> HttpResponseBase:
        run = runs_access.get_run_for_user(
            user=request.user, run_id=run_id, context=RunContext.SANDBOX
        )
        return artifact_response(run, artifact_id)


def _json_object_field(data: Mapping[str, Any], name: str) -> Any:
    """A multipart field holding JSON text, or (JSON body) the object itself. Anything else in
    a JSON body is passed on as it is, for the service to refuse with a precise message."""
    value = data.get(name)
    if value is None or isinstance(value, bool | int | float | list):
        return value
    # Text is parsed, an object taken as it is; either way NUL characters are refused there.
    return runs.parse_json_object(value, name)


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
