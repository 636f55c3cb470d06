import uuid
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.access import authenticated_user
from apps.accounts.models import User
from apps.core.api.validation import body_object, validated
from apps.core.identifiers import MAX_BIGINT, is_uuid, parse_uuid
from apps.locks.services import LockState
from apps.projects import access as projects_access
from apps.projects.models import ProjectRole
from apps.tools import access, queries, services
from apps.tools.api.responses import (
    DraftCreatedSerializer,
    EditorBootSerializer,
    LockReleasedSerializer,
)
from apps.tools.api.serializers import (
    DraftCreateSerializer,
    DraftSaveSerializer,
    LockRequestSerializer,
    LockSerializer,
    NoteSerializer,
    SchemasSerializer,
    SchemaValidationSerializer,
    ToolCreateSerializer,
    ToolSerializer,
    VersionResultSerializer,
    VersionSummarySerializer,
    lock_json,
    lock_token_header,
)
from apps.tools.models import Tool, ToolVersion
from apps.tools.schemas import validate_schemas


class ProjectToolViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[Tool]):
    """Tools of one project: members list them; editors with the contributor role create them."""

    serializer_class = ToolSerializer
    queryset = Tool.objects.none()

    def list(self, request: Request, project_id: str) -> Response:
        project = projects_access.get_project_for_user(user=request.user, project_id=project_id)
        tools = Tool.objects.filter(project=project).order_by("title", "id")
        page = self.paginate_queryset(tools)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(request=ToolCreateSerializer, responses={201: ToolSerializer})
    def create(self, request: Request, project_id: str) -> Response:
        project = projects_access.get_project_for_user(
            user=request.user, project_id=project_id, min_role=ProjectRole.EDITOR
        )
        data = validated(ToolCreateSerializer, request)
        tool = services.create_tool(project=project, creator=authenticated_user(request), **data)
        return Response(ToolSerializer(tool).data, status=status.HTTP_201_CREATED)


class EditorBootView(APIView):
    """`GET /editor/tools/{id}` or `/editor/tool-versions/{id}`: the editor's start document."""

    @extend_schema(responses={200: EditorBootSerializer})
    def get(
        self, request: Request, tool_id: str | None = None, version_id: str | None = None
    ) -> Response:
        user = authenticated_user(request)
        version = _version(request, version_id) if version_id else None
        the_tool_id = version.tool_id if version else (tool_id or "")
        tool = access.get_tool_for_user(user=user, tool_id=the_tool_id, edit=True)
        boot = queries.editor_boot(tool=tool, user=user, selected=version)
        lock = boot["draft_lock"]
        return Response(
            {
                **boot,
                "tool": ToolSerializer(tool).data,
                "versions": VersionSummarySerializer(boot["versions"], many=True).data,
                "selected_version": VersionSummarySerializer(
                    version or boot["selected_version"]
                ).data
                if boot["selected_version"]
                else None,
                "draft_lock": lock_json(lock, user_id=user.pk) if lock else None,
            }
        )


class DraftLockView(APIView):
    """Acquire / heartbeat / force (POST) and release (DELETE) the tool's draft lock."""

    @extend_schema(request=LockRequestSerializer, responses={200: LockSerializer})
    def post(self, request: Request, tool_id: str) -> Response:
        user = authenticated_user(request)
        body, body_error = _body(request)
        state = _heartbeat(tool_id, user, body) if body_error is None else None
        if state is None:
            # Visibility here; the edit permission is checked by the service under the tool's
            # row lock.
            tool = access.get_tool_for_user(user=user, tool_id=tool_id)
            if body_error is not None:
                raise body_error
            data = validated(LockRequestSerializer, request)
            state = services.acquire_draft_lock(tool=tool, actor=user, **data)
        return Response(lock_json(state, user_id=user.pk))

    @extend_schema(
        parameters=[
            OpenApiParameter("draft_head_id", OpenApiTypes.UUID),
            OpenApiParameter("lock_token", int),
            OpenApiParameter("reason", str),
        ],
        responses={200: LockReleasedSerializer},
    )
    def delete(self, request: Request, tool_id: str) -> Response:
        user = authenticated_user(request)
        tool = access.get_tool_for_user(user=user, tool_id=tool_id, edit=True)
        head = request.query_params.get("draft_head_id")
        services.release_draft_lock(
            tool=tool,
            actor=user,
            reason=str(request.query_params.get("reason", "")),
            draft_head_id=parse_uuid(head, name="draft_head_id") if head is not None else None,
            lock_token=lock_token_header(request.query_params.get("lock_token")),
        )
        return Response({"tool_id": tool.pk})


def _body(request: Request) -> tuple[Any, Exception | None]:
    """The parsed body, or what parsing it raised. DRF answers a second read of a body that
    failed to parse with an empty one, so the error is kept and raised in its usual turn."""
    try:
        return request.data, None
    except Exception as error:
        return None, error


def _heartbeat(tool_id: str, user: User, body: Any) -> LockState | None:
    """A plain heartbeat refreshes in one statement; None for anything else, or when the refresh
    does not apply, which then takes the usual path (and gets its usual answer, errors included,
    in the usual order)."""
    plain = _plain_heartbeat(body)
    if plain is None or not is_uuid(tool_id):
        return None
    draft_head_id, lock_token = plain
    return services.refresh_draft_lock(
        tool_id=uuid.UUID(tool_id), actor=user, draft_head_id=draft_head_id, lock_token=lock_token
    )


def _plain_heartbeat(body: Any) -> tuple[uuid.UUID, int | None] | None:
    """The head and lock token of a body that is plainly a heartbeat: `{"draft_head_id": <uuid>}`
    with, optionally, an integer `lock_token`. Any other body, valid or not, is None and left to
    LockRequestSerializer: this accepts a strict subset of what it accepts, with the same values,
    and skips its cost (a third of the request's) on the commonest request of the editor."""
    if not isinstance(body, dict) or not set(body) <= _PLAIN_HEARTBEAT_KEYS:
        return None
    head, token = body.get("draft_head_id"), body.get("lock_token")
    if not isinstance(head, str) or not is_uuid(head):
        return None
    if token is not None and (type(token) is not int or not 1 <= token <= MAX_BIGINT):
        return None
    return uuid.UUID(head), token


_PLAIN_HEARTBEAT_KEYS = frozenset({"draft_head_id", "lock_token"})


class DraftLockReleaseView(APIView):
    """`POST …/draft-lock/release`: the editor page's release on leave. `navigator.sendBeacon`
    can only POST a form, so this takes `draft_head_id` as a form field (session + CSRF, the token
    in `csrfmiddlewaretoken`) and does what `DELETE …/draft-lock?draft_head_id=` does."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: LockReleasedSerializer})
    def post(self, request: Request, tool_id: str) -> Response:
        user = authenticated_user(request)
        tool = access.get_tool_for_user(user=user, tool_id=tool_id, edit=True)
        head = request.data.get("draft_head_id")
        token = request.data.get("lock_token")
        services.release_draft_lock(
            tool=tool,
            actor=user,
            draft_head_id=parse_uuid(str(head), name="draft_head_id"),
            lock_token=lock_token_header(str(token)) if token is not None else None,
        )
        return Response({"tool_id": tool.pk})


class DraftCreateView(APIView):
    @extend_schema(request=DraftCreateSerializer, responses={201: DraftCreatedSerializer})
    def post(self, request: Request, tool_id: str) -> Response:
        user = authenticated_user(request)
        tool = access.get_tool_for_user(user=user, tool_id=tool_id, edit=True)
        data = validated(DraftCreateSerializer, request)
        derived = data.pop("derived_from_version_id")
        version = services.create_draft(
            tool=tool,
            actor=user,
            content=_content(data),
            change_summary=data["change_summary"],
            derived_from=_version(request, str(derived)) if derived else None,
            lock_token=lock_token_header(request.headers.get("X-Draft-Lock-Token")),
        )
        return Response(
            {"version_id": version.pk, "version_number": version.version_number}, status=201
        )


class VersionActionView(APIView):
    """Save, submit for review, publish, request changes, roll back: one version command each."""

    action_name = ""

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: VersionResultSerializer})
    def post(self, request: Request, version_id: str) -> Response:
        user = authenticated_user(request)
        version = _version(request, version_id)
        result = getattr(self, f"_{self.action_name}")(request, version, user)
        return Response(
            {
                "version_id": result.pk,
                "version_number": result.version_number,
                "state": result.state,
            }
        )

    def _save(self, request: Request, version: ToolVersion, user: Any) -> ToolVersion:
        access.get_tool_for_user(user=user, tool_id=version.tool_id, edit=True)
        data = validated(DraftSaveSerializer, request)
        return services.save_draft(
            version=version,
            actor=user,
            content=_content(data),
            change_summary=data["change_summary"],
            expected_parent_version_id=data["expected_parent_version_id"],
            lock_token=lock_token_header(request.headers.get("X-Draft-Lock-Token")),
        )

    def _submit(self, request: Request, version: ToolVersion, user: Any) -> ToolVersion:
        access.get_tool_for_user(user=user, tool_id=version.tool_id, edit=True)
        return services.submit_for_review(version=version, actor=user, review_note=_note(request))

    def _publish(self, request: Request, version: ToolVersion, user: Any) -> ToolVersion:
        return services.publish_version(version=version, actor=user, change_summary=_note(request))

    def _request_changes(self, request: Request, version: ToolVersion, user: Any) -> ToolVersion:
        return services.request_changes(version=version, actor=user, message=_note(request))

    def _rollback(self, request: Request, version: ToolVersion, user: Any) -> ToolVersion:
        body_object(request)  # no fields, but a body that is not an object is refused as anywhere
        return services.rollback_version(version=version, actor=user)


class ValidateSchemasView(APIView):
    """Always 200 `{valid, issues}`; only tool access problems are errors."""

    @extend_schema(request=SchemasSerializer, responses={200: SchemaValidationSerializer})
    def post(self, request: Request, tool_id: str) -> Response:
        access.get_tool_for_user(user=authenticated_user(request), tool_id=tool_id, edit=True)
        data = validated(SchemasSerializer, request)
        return Response(validate_schemas(**data))


def _version(request: Request, version_id: str) -> ToolVersion:
    """A version of a tool the caller can see (404 otherwise)."""
    return access.get_version_for_user(user=request.user, version_id=version_id)


def _content(data: dict[str, Any]) -> services.ContentEdit:
    return services.ContentEdit(
        **{
            key: data[key]
            for key in (
                "entrypoint",
                "source_code",
                "input_schema",
                "settings_schema",
                "usage_instructions",
            )
        }
    )


def _note(request: Request) -> str:
    return str(validated(NoteSerializer, request)["text"])
