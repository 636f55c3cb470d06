from django.urls import path

from apps.runs.api import views

urlpatterns = [
    path("tools/<str:tool_id>/runtime", views.RuntimeToolView.as_view(), name="runtime-tool"),
    path("tools/<str:tool_id>/run", views.RunToolView.as_view(), name="runtime-run"),
    path(
        "tools/<str:tool_id>/usage-instructions/seen",
        views.UsageInstructionsSeenView.as_view(),
        name="usage-instructions-seen",
    ),
    path("tools/<str:tool_id>/settings", views.ToolSettingsView.as_view(), name="tool-settings"),
    path(
        "tools/<str:tool_id>/sessions/<str:context>",
        views.SessionView.as_view(),
        name="tool-session",
    ),
    path(
        "tools/<str:tool_id>/session-files",
        views.SessionFilesView.as_view(),
        name="tool-session-files",
    ),
    path("start_action", views.StartActionView.as_view(), name="start-action"),
    path("runs", views.RunListView.as_view(), name="run-list"),
    path("runs/<str:run_id>", views.RunDetailView.as_view(), name="run-detail"),
    path("runs/<str:run_id>/rerun", views.RunRerunView.as_view(), name="run-rerun"),
    path(
        "runs/<str:run_id>/artifacts/<str:artifact_id>",
        views.RunArtifactView.as_view(),
        name="run-artifact",
    ),
    path("my-runs", views.MyRunsView.as_view(), name="my-runs"),
]
