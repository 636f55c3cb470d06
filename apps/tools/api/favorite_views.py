"""The signed-in user's favorites: `PUT` stars a tool, `DELETE` removes the star; idempotent."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.access import authenticated_user
from apps.tools import access, services
from apps.tools.api.serializers import FavoriteSerializer

_RESPONSES = {
    200: FavoriteSerializer,
    400: OpenApiResponse(description="`tool_id` is not a UUID (INVALID_ID)."),
    404: OpenApiResponse(
        description="No published tool with this id in a project of yours (NOT_FOUND)."
    ),
}


class ToolFavoriteView(APIView):
    @extend_schema(
        request=None,
        responses=_RESPONSES,
        summary="Star a tool",
        description="Adds the tool to your favorites; starring a starred tool changes nothing.",
    )
    def put(self, request: Request, tool_id: str) -> Response:
        tool = access.get_published_tool_for_user(user=request.user, tool_id=tool_id)
        services.add_favorite(user=authenticated_user(request), tool=tool)
        return Response({"tool_id": tool.pk, "is_favorite": True})

    @extend_schema(
        request=None,
        responses=_RESPONSES,
        summary="Remove a tool's star",
        description="Removes the tool from your favorites; fine when it was not starred.",
    )
    def delete(self, request: Request, tool_id: str) -> Response:
        tool = access.get_published_tool_for_user(user=request.user, tool_id=tool_id)
        services.remove_favorite(user=authenticated_user(request), tool=tool)
        return Response({"tool_id": tool.pk, "is_favorite": False})
