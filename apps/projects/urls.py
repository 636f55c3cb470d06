from django.urls import path

from apps.projects import views

app_name = "projects"

urlpatterns = [
    path("", views.project_list, name="project-list"),
    # Before "<project_id>/": "scheduled" is not a project id.
    path("scheduled/", views.scheduled_list, name="scheduled-list"),
    path("<str:project_id>/", views.project_detail, name="project-detail"),
    path("<str:project_id>/delete", views.project_delete, name="project-delete"),
    path("<str:project_id>/restore", views.project_restore, name="project-restore"),
    path("<str:project_id>/members/add", views.member_add, name="member-add"),
    path("<str:project_id>/members/<int:user_id>/role", views.member_role, name="member-role"),
    path(
        "<str:project_id>/members/<int:user_id>/remove", views.member_remove, name="member-remove"
    ),
]
