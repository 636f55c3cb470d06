"""Management API: the collections of one project (list, create, rename, delete)."""

from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.api.validation import validated
from apps.kvcollections import access, services
from apps.kvcollections.api.filters import CollectionFilter
from apps.kvcollections.api.serializers import (
    CollectionCreateSerializer,
    CollectionSerializer,
    CollectionUpdateSerializer,
)
from apps.kvcollections.models import Collection
from apps.projects import access as projects_access
from apps.projects.models import ProjectRole


class CollectionViewSet(viewsets.GenericViewSet[Collection]):
    """Members list a project's collections; admins and owners create, rename and delete them."""

    serializer_class = CollectionSerializer
    filterset_class = CollectionFilter
    queryset = Collection.objects.none()  # lists come from access.collections_of

    def list(self, request: Request, project_id: str) -> Response:
        project = projects_access.get_project_for_user(user=request.user, project_id=project_id)
        collections = self.filter_queryset(access.collections_of(project).order_by("name"))
        page = self.paginate_queryset(collections)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(request=CollectionCreateSerializer, responses={201: CollectionSerializer})
    def create(self, request: Request, project_id: str) -> Response:
        project = projects_access.get_project_for_user(
            user=request.user, project_id=project_id, min_role=ProjectRole.ADMIN
        )
        data = validated(CollectionCreateSerializer, request)
        collection = services.create_collection(project=project, name=data["name"])
        return Response(CollectionSerializer(collection).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CollectionUpdateSerializer, responses={200: CollectionSerializer})
    def partial_update(self, request: Request, project_id: str, name: str) -> Response:
        collection = access.get_collection_for_user(
            user=request.user, project_id=project_id, name=name, min_role=ProjectRole.ADMIN
        )
        data = validated(CollectionUpdateSerializer, request)
        collection = services.rename_collection(collection=collection, name=data["name"])
        return Response(CollectionSerializer(collection).data)

    @extend_schema(request=None, responses={204: None})
    def destroy(self, request: Request, project_id: str, name: str) -> Response:
        """Delete the collection and every item in it."""
        collection = access.get_collection_for_user(
            user=request.user, project_id=project_id, name=name, min_role=ProjectRole.ADMIN
        )
        services.delete_collection(collection=collection)
        return Response(status=status.HTTP_204_NO_CONTENT)
