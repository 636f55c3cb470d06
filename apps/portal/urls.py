from django.urls import URLPattern, path

from apps.portal.views import catalog, run_page, runs

app_name = "portal"

# The page families (catalog, run pages, run history) add their routes here.
urlpatterns: list[URLPattern] = [
    path("tools/", catalog.catalog, name="catalog"),
    path("tools/results", catalog.catalog_results, name="catalog-results"),
    path("tools/<uuid:tool_id>/favorite", catalog.tool_favorite, name="tool-favorite"),
    path("tools/<uuid:tool_id>/run", run_page.tool_run, name="tool-run"),
    # Run history: My runs, run details and re-runs, a tool's recent runs.
    path("runs/", runs.run_list, name="run-list"),
    path("runs/<uuid:run_id>", runs.run_detail, name="run-detail"),
    path("runs/<uuid:run_id>/rerun", runs.run_rerun, name="run-rerun"),
    path("tools/<uuid:tool_id>/runs", runs.tool_runs, name="tool-runs"),
]
