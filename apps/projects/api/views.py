from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.access import authenticated_user
from apps.accounts.services import TokenCredential, authenticate_api_token
from apps.core.api.validation import validated
from apps.core.exceptions import BadRequest
from apps.core.identifiers import parse_int_id, parse_uuid
from apps.projects import access, services
from apps.projects.api.filters import ProjectFilter
from apps.projects.api.serializers import (
    MemberCreateSerializer,
    MemberSerializer,
    MemberUpdateSerializer,
    ProjectCreateSerializer,
    ProjectSerializer,
    ProjectUpdateSerializer,
)
from apps.projects.models import Project, ProjectMembership, ProjectRole


class ProjectViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[Project]):
    serializer_class = ProjectSerializer
    filterset_class = ProjectFilter
    lookup_url_kwarg = "project_id"
    # Set by `authenticate_and_read` for a retrieve: what the one statement read.
    project_read: access.ProjectRead | None = None

    def authenticate_and_read(
        self, *, secret: str, kinds: frozenset[str]
    ) -> TokenCredential | None:
        """A retrieve checks the token and reads the project in one statement
        (access.read_project); anything else checks the token alone."""
        if self.action == "retrieve":
            try:
                pk = parse_uuid(self.kwargs["project_id"], name="project_id")
            except BadRequest:
                pass  # the usual path answers it, after authentication
            else:
                credential, self.project_read = access.read_project(
                    secret=secret, kinds=kinds, project_id=pk
                )
                return credential
        return authenticate_api_token(secret=secret, kinds=kinds)

    def get_queryset(self) -> QuerySet[Project]:
        return access.projects_visible_to(self.request.user).order_by("name", "id")

    @extend_schema(request=ProjectCreateSerializer, responses={201: ProjectSerializer})
    def create(self, request: Request) -> Response:
        data = validated(ProjectCreateSerializer, request)
        project = services.create_project(creator=authenticated_user(request), **data)
        project.role_codename = ProjectRole.OWNER.codename
        return Response(ProjectSerializer(project).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, project_id: str) -> Response:
        if self.project_read is not None:
            project = self.project_read.project()
        else:
            project = access.get_project_for_user(user=request.user, project_id=project_id)
        return Response(ProjectSerializer(project).data)

    @extend_schema(request=ProjectUpdateSerializer, responses={200: ProjectSerializer})
    def partial_update(self, request: Request, project_id: str) -> Response:
        project = access.get_project_for_user(
            user=request.user, project_id=project_id, min_role=ProjectRole.ADMIN
        )
        project = services.update_project(
            project=project, **validated(ProjectUpdateSerializer, request)
        )
        return Response(ProjectSerializer(project).data)

    @extend_schema(request=None, responses={202: ProjectSerializer})
    def destroy(self, request: Request, project_id: str) -> Response:
        """Schedule the project for deletion; it disappears now and is purged after the grace."""
        project = access.get_project_for_user(
            user=request.user, project_id=project_id, min_role=ProjectRole.OWNER
        )
        project = services.schedule_project_deletion(
            project=project, actor=authenticated_user(request)
        )
        return Response(ProjectSerializer(project).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={200: ProjectSerializer})
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, project_id: str) -> Response:
        """Cancel a scheduled deletion (owners, during the grace period)."""
        project = access.get_project_for_user(
            user=request.user,
            project_id=project_id,
            min_role=ProjectRole.OWNER,
            include_scheduled=True,
        )
        project = services.restore_project(project=project, actor=authenticated_user(request))
        return Response(ProjectSerializer(project).data)


class ProjectMemberViewSet(viewsets.GenericViewSet[ProjectMembership]):
    """Members of one project. Viewers see the list; admins add, change and remove members."""

    serializer_class = MemberSerializer
    queryset = ProjectMembership.objects.none()  # lists come from access.memberships_of

    def list(self, request: Request, project_id: str) -> Response:
        project = access.get_project_for_user(user=request.user, project_id=project_id)
        page = self.paginate_queryset(access.memberships_of(project))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(request=MemberCreateSerializer, responses={201: MemberSerializer})
    def create(self, request: Request, project_id: str) -> Response:
        project = access.get_project_for_user(
            user=request.user, project_id=project_id, min_role=ProjectRole.ADMIN
        )
        data = validated(MemberCreateSerializer, request)
        membership = services.add_member(
            project=project,
            actor_role=project.caller_role,
            email=data["email"],
            role=ProjectRole(data["role"]),
        )
        return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MemberUpdateSerializer, responses={200: MemberSerializer})
    def partial_update(self, request: Request, project_id: str, user_id: str) -> Response:
        project = access.get_project_for_user(
            user=request.user, project_id=project_id, min_role=ProjectRole.ADMIN
        )
        member_id = parse_int_id(user_id, name="user_id")
        role = ProjectRole(validated(MemberUpdateSerializer, request)["role"])
        membership = services.change_member_role(
            project=project,
            actor_role=project.caller_role,
            member_id=member_id,
            role=role,
        )
        return Response(MemberSerializer(membership).data)

    @extend_schema(request=None, responses={204: None})
    def destroy(self, request: Request, project_id: str, user_id: str) -> Response:
        member_id = parse_int_id(user_id, name="user_id")
        leaving = member_id == request.user.pk
        project = access.get_project_for_user(
            user=request.user,
            project_id=project_id,
            min_role=ProjectRole.VIEWER if leaving else ProjectRole.ADMIN,
        )
        services.remove_member(
            project=project,
            actor=authenticated_user(request),
            actor_role=project.caller_role,
            member_id=member_id,
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
