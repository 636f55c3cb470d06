from django.urls import path

from apps.sandbox.api import views

_VERSION = "editor/tool-versions/<str:version_id>"

urlpatterns = [
    path(f"{_VERSION}/run-sandbox", views.RunSandboxView.as_view(), name="run-sandbox"),
    path(f"{_VERSION}/review-run", views.ReviewRunView.as_view(), name="review-run"),
    path(f"{_VERSION}/start-action", views.StartSandboxActionView.as_view(), name="sandbox-action"),
    path(f"{_VERSION}/session", views.SandboxSessionView.as_view(), name="sandbox-session"),
    path(
        f"{_VERSION}/session-files",
        views.SandboxSessionFilesView.as_view(),
        name="sandbox-session-files",
    ),
    path(
        f"{_VERSION}/sandbox-settings/resolve",
        views.ResolveSandboxSettingsView.as_view(),
        name="sandbox-settings-resolve",
    ),
    path(
        f"{_VERSION}/sandbox-settings",
        views.SaveSandboxSettingsView.as_view(),
        name="sandbox-settings",
    ),
    path("editor/tool-runs/<str:run_id>", views.EditorRunView.as_view(), name="editor-run"),
    path(
        "editor/tool-runs/<str:run_id>/artifacts/<str:artifact_id>",
        views.EditorRunArtifactView.as_view(),
        name="editor-run-artifact",
    ),
]
