from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts import services
from apps.accounts.access import authenticated_user
from apps.accounts.api.serializers import (
    ApiTokenCreatedSerializer,
    ApiTokenCreateSerializer,
    ApiTokenSerializer,
)
from apps.accounts.models import ApiToken, TokenKind
from apps.core.api.validation import validated
from apps.core.exceptions import NotFound
from apps.core.identifiers import parse_int_id


class ApiTokenViewSet(
    mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet[ApiToken]
):
    """The caller's own personal access tokens. Other people's tokens are 404."""

    serializer_class = ApiTokenSerializer
    filterset_fields = ("revoked_at",)

    def get_queryset(self) -> QuerySet[ApiToken]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return ApiToken.objects.none()
        return ApiToken.objects.filter(
            user=authenticated_user(self.request), kind=TokenKind.PERSONAL
        ).order_by("-created_at", "-id")

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "now": timezone.now()}

    @extend_schema(request=ApiTokenCreateSerializer, responses={201: ApiTokenCreatedSerializer})
    def create(self, request: Request) -> Response:
        data = validated(ApiTokenCreateSerializer, request)
        token, secret = services.create_api_token(user=authenticated_user(request), **data)
        token.token = secret  # type: ignore[attr-defined]
        body = ApiTokenCreatedSerializer(token, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        token_id = parse_int_id(pk, name="token_id")
        token = self.get_queryset().filter(pk=token_id).first()
        if token is None:
            raise NotFound("Token not found.")
        services.revoke_api_token(token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)
