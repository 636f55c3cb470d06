from django.urls import path

from apps.kvcollections import views

app_name = "kvcollections"

_COLLECTION = "projects/<str:project_id>/collections/<str:name>"

urlpatterns = [
    path(
        "projects/<str:project_id>/collections/",
        views.collection_list,
        name="collection-list",
    ),
    path(f"{_COLLECTION}/", views.collection_detail, name="collection-detail"),
    path(f"{_COLLECTION}/rename", views.collection_rename, name="collection-rename"),
    path(f"{_COLLECTION}/delete", views.collection_delete, name="collection-delete"),
    # Session-authenticated like the pages; the path is the one Lightning clients know.
    path(
        "download/collections/<str:project_id>/<str:name>",
        views.collection_download,
        name="collection-download",
    ),
]
