from django.urls import path

from apps.kvcollections.api.views import CollectionViewSet

collection_list = CollectionViewSet.as_view({"get": "list", "post": "create"})
collection_detail = CollectionViewSet.as_view({"patch": "partial_update", "delete": "destroy"})

urlpatterns = [
    path("projects/<str:project_id>/collections", collection_list, name="collection-list"),
    path(
        "projects/<str:project_id>/collections/<str:name>",
        collection_detail,
        name="collection-detail",
    ),
]
