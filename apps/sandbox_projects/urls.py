from django.urls import path

from apps.sandbox_projects import views

app_name = "sandbox_projects"

urlpatterns = [
    path("projects/<str:project_id>/sandboxes/new", views.sandbox_create, name="sandbox-create"),
    path("projects/<str:project_id>/merge", views.merge, name="merge"),
    path("projects/<str:project_id>/merges/", views.merge_list, name="merge-list"),
    path(
        "projects/<str:project_id>/merges/<str:record_id>",
        views.merge_record,
        name="merge-record",
    ),
]
