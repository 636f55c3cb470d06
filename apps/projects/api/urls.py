from django.urls import path

from apps.projects.api.views import ProjectMemberViewSet, ProjectViewSet

project_list = ProjectViewSet.as_view({"get": "list", "post": "create"})
project_detail = ProjectViewSet.as_view(
    {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}
)
project_restore = ProjectViewSet.as_view({"post": "restore"})
member_list = ProjectMemberViewSet.as_view({"get": "list", "post": "create"})
member_detail = ProjectMemberViewSet.as_view({"patch": "partial_update", "delete": "destroy"})

urlpatterns = [
    path("projects", project_list, name="project-list"),
    path("projects/<str:project_id>", project_detail, name="project-detail"),
    path("projects/<str:project_id>/restore", project_restore, name="project-restore"),
    path("projects/<str:project_id>/members", member_list, name="project-member-list"),
    path(
        "projects/<str:project_id>/members/<str:user_id>",
        member_detail,
        name="project-member-detail",
    ),
]
