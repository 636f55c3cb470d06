from django.urls import path

from apps.tools.api import catalog_views, favorite_views, views

version_action = views.VersionActionView.as_view

urlpatterns = [
    path(
        "projects/<str:project_id>/tools",
        views.ProjectToolViewSet.as_view({"get": "list", "post": "create"}),
        name="project-tool-list",
    ),
    path(
        "tools/<str:tool_id>/favorite",
        favorite_views.ToolFavoriteView.as_view(),
        name="tool-favorite",
    ),
    path("editor/tools/<str:tool_id>", views.EditorBootView.as_view(), name="editor-tool"),
    path(
        "editor/tool-versions/<str:version_id>",
        views.EditorBootView.as_view(),
        name="editor-version",
    ),
    path(
        "editor/tools/<str:tool_id>/draft-lock",
        views.DraftLockView.as_view(),
        name="editor-draft-lock",
    ),
    path("editor/tools/<str:tool_id>/draft-lock/release", views.DraftLockReleaseView.as_view()),
    path(
        "editor/tools/<str:tool_id>/draft",
        views.DraftCreateView.as_view(),
        name="editor-draft-create",
    ),
    path(
        "editor/tools/<str:tool_id>/validate-schemas",
        views.ValidateSchemasView.as_view(),
        name="editor-validate-schemas",
    ),
    path("editor/tool-versions/<str:version_id>/save", version_action(action_name="save")),
    path(
        "editor/tool-versions/<str:version_id>/submit-review", version_action(action_name="submit")
    ),
    path("editor/tool-versions/<str:version_id>/publish", version_action(action_name="publish")),
    path(
        "editor/tool-versions/<str:version_id>/request-changes",
        version_action(action_name="request_changes"),
    ),
    path("editor/tool-versions/<str:version_id>/rollback", version_action(action_name="rollback")),
    path("editor/tools/<str:tool_id>/metadata", catalog_views.MetadataView.as_view()),
    path("editor/tools/<str:tool_id>/slug", catalog_views.SlugView.as_view()),
    path("editor/tools/<str:tool_id>/taxonomy", catalog_views.TaxonomyView.as_view()),
    path("editor/tools/<str:tool_id>/maintainers", catalog_views.MaintainersView.as_view()),
    path(
        "editor/tools/<str:tool_id>/maintainers/<str:user_id>",
        catalog_views.MaintainerDetailView.as_view(),
    ),
    path("editor/tools/<str:tool_id>/publish", catalog_views.PublishToolView.as_view(publish=True)),
    path(
        "editor/tools/<str:tool_id>/depublish", catalog_views.PublishToolView.as_view(publish=False)
    ),
]
