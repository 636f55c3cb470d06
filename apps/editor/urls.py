from django.urls import path

from apps.editor import views

app_name = "editor"

urlpatterns = [
    path("tools/<uuid:tool_id>/edit", views.tool_edit, name="tool-edit"),
    path("projects/<uuid:project_id>/tools", views.tool_list, name="tool-list"),
]
