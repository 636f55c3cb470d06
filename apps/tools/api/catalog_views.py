"""Tool metadata, slug, taxonomy, maintainers and publishing (admin actions; not lock-protected)."""

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.access import authenticated_user
from apps.accounts.models import User
from apps.core.api.validation import validated
from apps.core.identifiers import parse_int_id
from apps.tools import access, services
from apps.tools.api.responses import MaintainersSerializer
from apps.tools.api.serializers import (
    MaintainerAddSerializer,
    MetadataSerializer,
    SlugSerializer,
    TaxonomySerializer,
    ToolSerializer,
)
from apps.tools.exceptions import MaintainerRuleViolated
from apps.tools.models import Tool


def _tool(request: Request, tool_id: str) -> Tool:
    return access.get_tool_for_user(user=request.user, tool_id=tool_id, edit=True)


class MetadataView(APIView):
    @extend_schema(request=MetadataSerializer, responses={200: ToolSerializer})
    def patch(self, request: Request, tool_id: str) -> Response:
        data = validated(MetadataSerializer, request)
        tool = services.update_metadata(
            tool=_tool(request, tool_id), actor=authenticated_user(request), **data
        )
        return Response(ToolSerializer(tool).data)


class SlugView(APIView):
    @extend_schema(request=SlugSerializer, responses={200: ToolSerializer})
    def patch(self, request: Request, tool_id: str) -> Response:
        slug = validated(SlugSerializer, request)["slug"]
        tool = services.update_slug(
            tool=_tool(request, tool_id), actor=authenticated_user(request), slug=slug
        )
        return Response(ToolSerializer(tool).data)


class TaxonomyView(APIView):
    @extend_schema(responses={200: TaxonomySerializer})
    def get(self, request: Request, tool_id: str) -> Response:
        return Response(_taxonomy(_tool(request, tool_id)))

    @extend_schema(request=TaxonomySerializer, responses={200: TaxonomySerializer})
    def patch(self, request: Request, tool_id: str) -> Response:
        data = validated(TaxonomySerializer, request)
        tool = services.set_taxonomy(
            tool=_tool(request, tool_id), actor=authenticated_user(request), **data
        )
        return Response(_taxonomy(tool))


class MaintainersView(APIView):
    @extend_schema(responses={200: MaintainersSerializer})
    def get(self, request: Request, tool_id: str) -> Response:
        return Response(_maintainers(_tool(request, tool_id)))

    @extend_schema(request=MaintainerAddSerializer, responses={200: MaintainersSerializer})
    def post(self, request: Request, tool_id: str) -> Response:
        tool = _tool(request, tool_id)
        data = validated(MaintainerAddSerializer, request)
        services.assign_maintainer(tool=tool, actor=authenticated_user(request), **data)
        return Response(_maintainers(tool))


class MaintainerDetailView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("reason", str)], responses={200: MaintainersSerializer}
    )
    def delete(self, request: Request, tool_id: str, user_id: str) -> Response:
        tool = _tool(request, tool_id)
        user = User.objects.filter(pk=parse_int_id(user_id, name="user_id")).first()
        if user is None:
            raise MaintainerRuleViolated("This user is not a maintainer of the tool.")
        reason = str(request.query_params.get("reason", ""))
        services.remove_maintainer(
            tool=tool, actor=authenticated_user(request), user=user, reason=reason
        )
        return Response(_maintainers(tool))


class PublishToolView(APIView):
    publish = True

    @extend_schema(request=None, responses={200: ToolSerializer})
    def post(self, request: Request, tool_id: str) -> Response:
        change = services.publish_tool if self.publish else services.depublish_tool
        tool = change(tool=_tool(request, tool_id), actor=authenticated_user(request))
        return Response(ToolSerializer(tool).data)


def _taxonomy(tool: Tool) -> dict[str, Any]:
    return {
        "tool_id": tool.pk,
        "profession_ids": sorted(tool.professions.values_list("pk", flat=True)),
        "category_ids": sorted(tool.categories.values_list("pk", flat=True)),
    }


def _maintainers(tool: Tool) -> dict[str, Any]:
    return {
        "tool_id": tool.pk,
        "owner_user_id": tool.owner_id,
        "maintainers": [
            {"id": user.pk, "email": user.email, "role": user.role}
            for user in access.maintainers_of(tool)
        ],
    }
