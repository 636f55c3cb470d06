from django.urls import path

from apps.editor import review_views, settings_views, views

app_name = "editor"

urlpatterns = [
    path("tools/<uuid:tool_id>/edit", views.tool_edit, name="tool-edit"),
    path("tools/<uuid:tool_id>/settings", settings_views.tool_settings, name="tool-settings"),
    path("projects/<uuid:project_id>/tools", views.tool_list, name="tool-list"),
    path("review/", review_views.review_queue, name="review-queue"),
    path("review/<uuid:version_id>", review_views.review, name="review"),
]
