"""Sandbox projects over the API: provision and list a project's sandboxes, merge a sandbox
back (dry run = the plan), and the merge records of a project."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.access import authenticated_user
from apps.core.api.fields import StrictCharField, StrictRegexField
from apps.core.api.validation import validated
from apps.projects import access as projects_access
from apps.projects.api.serializers import ProjectSerializer
from apps.projects.models import COLOUR_PATTERN, Project, ProjectRole
from apps.sandbox_projects import services
from apps.sandbox_projects.api.responses import MERGE_RESULT, MergeRecordSerializer
from apps.sandbox_projects.exceptions import NotASandbox
from apps.sandbox_projects.models import MergeRecord


class SandboxCreateSerializer(serializers.Serializer[None]):
    name = StrictCharField(max_length=120)
    colour = StrictRegexField(COLOUR_PATTERN, required=False, default=None)


class MergeSerializer(serializers.Serializer[None]):
    target_project_id = serializers.UUIDField(required=False, default=None, allow_null=True)
    collections = serializers.ListField(
        child=StrictCharField(max_length=255), required=False, default=None, allow_null=True
    )
    tools = serializers.ListField(
        child=serializers.UUIDField(), required=False, default=None, allow_null=True
    )
    dry_run = serializers.BooleanField(required=False, default=False)


class SandboxListView(generics.GenericAPIView[Project]):
    """`GET`: the project's live sandboxes (members see them); `POST`: provision one (editor+)."""

    queryset = Project.objects.none()
    serializer_class = ProjectSerializer

    @extend_schema(responses={200: ProjectSerializer(many=True)})
    def get(self, request: Request, project_id: str) -> Response:
        project = projects_access.get_project_for_user(user=request.user, project_id=project_id)
        sandboxes = projects_access.projects_visible_to(request.user).filter(parent=project)
        page = self.paginate_queryset(sandboxes.order_by("created_at", "id"))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(request=SandboxCreateSerializer, responses={201: ProjectSerializer})
    def post(self, request: Request, project_id: str) -> Response:
        user = authenticated_user(request)
        parent = projects_access.get_project_for_user(
            user=user, project_id=project_id, min_role=ProjectRole.EDITOR
        )
        data = validated(SandboxCreateSerializer, request)
        sandbox = services.provision_sandbox(parent=parent, actor=user, **data)
        created = projects_access.get_project_for_user(user=user, project_id=sandbox.pk)
        return Response(ProjectSerializer(created).data, status=status.HTTP_201_CREATED)


class MergeView(APIView):
    """Admin+ on the sandbox, editor+ on the target (default: the sandbox's parent)."""

    @extend_schema(request=MergeSerializer, responses={200: MERGE_RESULT})
    def post(self, request: Request, project_id: str) -> Response:
        user = authenticated_user(request)
        source = projects_access.get_project_for_user(
            user=user, project_id=project_id, min_role=ProjectRole.ADMIN
        )
        data = validated(MergeSerializer, request)
        if source.parent_id is None:
            raise NotASandbox()
        target = projects_access.get_project_for_user(
            user=user,
            project_id=data["target_project_id"] or source.parent_id,
            min_role=ProjectRole.EDITOR,
        )
        if data["dry_run"]:
            return Response(services.plan_merge(source=source, target=target, actor=user).as_json())
        record = services.merge_sandbox(
            source=source,
            target=target,
            actor=user,
            collections_selected=data["collections"],
            tools_selected=data["tools"],
        )
        return Response(merge_json(record))


class MergeRecordListView(generics.GenericAPIView[MergeRecord]):
    """Merges into or out of the project, newest first."""

    queryset = MergeRecord.objects.none()

    @extend_schema(responses={200: MergeRecordSerializer(many=True)})
    def get(self, request: Request, project_id: str) -> Response:
        project = projects_access.get_project_for_user(user=request.user, project_id=project_id)
        records = MergeRecord.objects.filter(target=project) | MergeRecord.objects.filter(
            source=project
        )
        page = self.paginate_queryset(records.order_by("-created_at", "id"))
        return self.get_paginated_response([merge_json(record) for record in page or []])


def merge_json(record: MergeRecord) -> dict[str, Any]:
    return {
        "id": str(record.pk),
        "source_project_id": str(record.source_id) if record.source_id else None,
        "source_name": record.source_name,
        "target_project_id": str(record.target_id),
        "actor_id": record.actor_id,
        "created_at": record.created_at.isoformat(),
        "collections_created": record.collections_created,
        "tools_proposed": record.tools_proposed,
    }
