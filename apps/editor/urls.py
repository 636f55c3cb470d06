from django.urls import path

from apps.editor import settings_views, views

app_name = "editor"

urlpatterns = [
    path("tools/<uuid:tool_id>/edit", views.tool_edit, name="tool-edit"),
    path("tools/<uuid:tool_id>/settings", settings_views.tool_settings, name="tool-settings"),
    path("projects/<uuid:project_id>/tools", views.tool_list, name="tool-list"),
]
