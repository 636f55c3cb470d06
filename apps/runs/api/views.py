"""Production runtime: run published tools, continue them with actions, per-user settings,
run details and artifacts. Runs are queued: 202 now, poll `GET /runs/{id}` for the result."""

from typing import Any

from django.conf import settings
from django.db.models.functions import Now, TruncMonth
from django.http.response import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.access import authenticated_user
from apps.core.api.validation import body_object, validated
from apps.runs import access, services, session_files
from apps.runs.api.files import (
    ARTIFACT_HEADERS,
    ARTIFACT_RESPONSES,
    RUN_PARSERS,
    artifact_response,
    uploaded_files,
)
from apps.runs.api.filters import RunFilter
from apps.runs.api.responses import (
    AcceptedRunSerializer,
    MyRunsSerializer,
    RunDetailsSerializer,
    RunSummarySerializer,
    RuntimeToolSerializer,
    SessionFilesSerializer,
    SessionSerializer,
    SettingsStateSerializer,
    UsageInstructionsStateSerializer,
)
from apps.runs.api.serializers import (
    ActionSerializer,
    SettingsSaveSerializer,
    UsageInstructionsSeenSerializer,
    accepted_run,
    run_details,
    session_json,
)
from apps.runs.models import DEFAULT_SESSION_CONTEXT, RunContext, ToolRun
from apps.tools.access import get_published_tool_for_user

ARTIFACT_URL = "/api/v1/runs/{run_id}/artifacts/{{artifact_id}}"


class RuntimeToolView(APIView):
    @extend_schema(responses={200: RuntimeToolSerializer})
    def get(self, request: Request, tool_id: str) -> Response:
        user = authenticated_user(request)
        tool = get_published_tool_for_user(user=user, tool_id=tool_id)
        version = tool.active_version
        assert version is not None  # noqa: S101 - guaranteed by get_published_tool_for_user
        instructions = services.usage_instructions_state(tool=tool, user=user)
        return Response(
            {
                "id": str(tool.pk),
                "slug": tool.slug,
                "title": tool.title,
                "summary": tool.summary,
                "usage_instructions": version.usage_instructions,
                "usage_instructions_hash": instructions.instructions_hash,
                "usage_instructions_seen": instructions.seen,
                "input_schema": version.input_schema,
                "has_settings": bool(version.settings_schema),
                "upload_constraints": {
                    "max_files": settings.UPLOAD_MAX_FILES,
                    "max_file_bytes": settings.UPLOAD_MAX_FILE_BYTES,
                    "max_total_bytes": settings.UPLOAD_MAX_TOTAL_BYTES,
                },
            }
        )


class UsageInstructionsSeenView(APIView):
    @extend_schema(
        request=UsageInstructionsSeenSerializer, responses={200: UsageInstructionsStateSerializer}
    )
    def post(self, request: Request, tool_id: str) -> Response:
        user = authenticated_user(request)
        tool = get_published_tool_for_user(user=user, tool_id=tool_id)
        data = validated(UsageInstructionsSeenSerializer, request)
        state = services.mark_usage_instructions_seen(
            tool=tool, actor=user, seen_hash=data["usage_instructions_hash"]
        )
        return Response(
            {
                "tool_id": str(tool.pk),
                "usage_instructions_hash": state.instructions_hash,
                "usage_instructions_seen": state.seen,
            }
        )


class RunToolView(APIView):
    parser_classes = RUN_PARSERS

    @extend_schema(request=OpenApiTypes.OBJECT, responses={202: AcceptedRunSerializer})
    def post(self, request: Request, tool_id: str) -> Response:
        user = authenticated_user(request)
        tool = get_published_tool_for_user(user=user, tool_id=tool_id)
        data = body_object(request)
        run = services.run_published_tool(
            tool=tool,
            actor=user,
            request=services.ProductionRunRequest(
                inputs=services.parse_json_object(data.get("inputs"), "inputs"),
                uploads=uploaded_files(request),
                session_files_mode=str(data.get("session_files_mode") or "none"),
                session_context=data.get("session_context") or DEFAULT_SESSION_CONTEXT,
            ),
        )
        return Response(accepted_run(run), status=status.HTTP_202_ACCEPTED)


class StartActionView(APIView):
    @extend_schema(request=ActionSerializer, responses={202: AcceptedRunSerializer})
    def post(self, request: Request) -> Response:
        user = authenticated_user(request)
        body = body_object(request)
        tool = get_published_tool_for_user(user=user, tool_id=str(body.get("tool_id", "")))
        data = validated(ActionSerializer, request)
        run, session = services.start_production_action(
            tool=tool,
            actor=user,
            context=body.get("context", DEFAULT_SESSION_CONTEXT),
            action_id=data["action_id"],
            raw_input=data["input"],
            expected_state_rev=data["expected_state_rev"],
        )
        return Response(
            accepted_run(run, state_rev=session.state_rev), status=status.HTTP_202_ACCEPTED
        )


class ToolSettingsView(APIView):
    @extend_schema(responses={200: SettingsStateSerializer})
    def get(self, request: Request, tool_id: str) -> Response:
        user = authenticated_user(request)
        tool = get_published_tool_for_user(user=user, tool_id=tool_id)
        return Response(services.production_settings(tool=tool, actor=user).as_json())

    @extend_schema(request=SettingsSaveSerializer, responses={200: SettingsStateSerializer})
    def put(self, request: Request, tool_id: str) -> Response:
        user = authenticated_user(request)
        tool = get_published_tool_for_user(user=user, tool_id=tool_id)
        data = validated(SettingsSaveSerializer, request)
        state = services.save_production_settings(tool=tool, actor=user, **data)
        return Response(state.as_json())


class SessionView(APIView):
    @extend_schema(responses={200: SessionSerializer})
    def get(self, request: Request, tool_id: str, context: str) -> Response:
        user = authenticated_user(request)
        tool = get_published_tool_for_user(user=user, tool_id=tool_id)
        session = services.get_or_create_session(
            tool_id=tool.pk, user_id=user.pk, context=services.clean_context(context)
        )
        return Response({"session_state": session_json(session)})


class SessionFilesView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("context", str, description="Default: `default`.")],
        responses={200: SessionFilesSerializer},
    )
    def get(self, request: Request, tool_id: str) -> Response:
        user = authenticated_user(request)
        tool = get_published_tool_for_user(user=user, tool_id=tool_id)
        context = services.clean_context(
            request.query_params.get("context", DEFAULT_SESSION_CONTEXT)
        )
        files = session_files.list_files(tool_id=tool.pk, user_id=user.pk, context=context)
        return Response(
            {
                "tool_id": str(tool.pk),
                "context": context,
                "files": [{"name": f.name, "bytes": f.bytes} for f in files],
            }
        )


class RunDetailView(APIView):
    @extend_schema(responses={200: RunDetailsSerializer})
    def get(self, request: Request, run_id: str) -> Response:
        run = access.get_run_for_user(
            user=request.user, run_id=run_id, context=RunContext.PRODUCTION
        )
        return Response(run_details(run, artifact_url=ARTIFACT_URL.format(run_id=run.pk)))


class RunRerunView(APIView):
    """Run the tool again with the inputs and files of one of your production runs."""

    @extend_schema(
        operation_id="runs_rerun",
        request=None,
        responses={
            202: OpenApiResponse(AcceptedRunSerializer, description="{run_id, status: queued}"),
            409: OpenApiResponse(
                description=(
                    "Error envelope: TOOL_UNAVAILABLE, RUN_FILES_REMOVED or RUN_NOT_RERUNNABLE."
                ),
            ),
        },
        description=(
            "Queue a new run of the tool's current active version with the form values, files "
            "and session context of this run. Only the requester (or a global admin) sees the "
            "run: 404 otherwise. 409 TOOL_UNAVAILABLE (no longer published, or no longer "
            "yours to run), RUN_FILES_REMOVED (its files are past RUN_INPUTS_RETENTION_DAYS), "
            "RUN_NOT_RERUNNABLE (an action run, or not finished yet); 422 when its values no "
            "longer fit the tool's form; 429 RUN_LIMIT_REACHED."
        ),
    )
    def post(self, request: Request, run_id: str) -> Response:
        user = authenticated_user(request)
        run = access.get_run_for_user(user=user, run_id=run_id, context=RunContext.PRODUCTION)
        new_run = services.rerun_tool_run(run=run, actor=user)
        return Response(accepted_run(new_run), status=status.HTTP_202_ACCEPTED)


class RunArtifactView(APIView):
    @extend_schema(responses=ARTIFACT_RESPONSES, parameters=ARTIFACT_HEADERS)
    def get(self, request: Request, run_id: str, artifact_id: str) -> HttpResponseBase:
        run = access.get_run_for_user(
            user=request.user, run_id=run_id, context=RunContext.PRODUCTION
        )
        return artifact_response(run, artifact_id)


class RunListView(generics.GenericAPIView[ToolRun]):
    """The caller's own runs (both contexts), newest first, filtered and paginated."""

    filterset_class = RunFilter
    queryset = ToolRun.objects.none()

    @extend_schema(operation_id="runs_list", responses={200: RunSummarySerializer(many=True)})
    def get(self, request: Request) -> Response:
        mine = ToolRun.objects.filter(requested_by=authenticated_user(request))
        runs = self.filter_queryset(mine.select_related("tool").order_by("-requested_at", "-pk"))
        page = self.paginate_queryset(runs)
        return self.get_paginated_response([_summary(run) for run in page or []])


class MyRunsView(APIView):
    @extend_schema(responses={200: MyRunsSerializer})
    def get(self, request: Request) -> Response:
        user = authenticated_user(request)
        mine = ToolRun.objects.filter(requested_by=user, context=RunContext.PRODUCTION)
        recent = mine.select_related("tool").order_by("-requested_at")[:50]
        this_month = mine.filter(requested_at__gte=TruncMonth(Now())).count()
        return Response(
            {
                "runs": [_summary(run) for run in recent],
                "count_this_month": this_month,
            }
        )


def _summary(run: ToolRun) -> dict[str, Any]:
    return {
        "run_id": str(run.pk),
        "tool_id": str(run.tool_id),
        "tool_title": run.tool.title,
        "context": run.context,
        "status": run.status,
        "action_id": run.action_id or None,
        "requested_at": run.requested_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }
