from django.urls import path

from apps.sandbox_projects.api import views

urlpatterns = [
    path(
        "projects/<str:project_id>/sandboxes",
        views.SandboxListView.as_view(),
        name="project-sandbox-list",
    ),
    path("projects/<str:project_id>/merge", views.MergeView.as_view(), name="project-merge"),
    path(
        "projects/<str:project_id>/merges",
        views.MergeRecordListView.as_view(),
        name="project-merge-list",
    ),
]
