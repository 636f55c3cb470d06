from django.urls import URLPattern, path

from apps.portal.views import run_page

app_name = "portal"

# The page families (catalog, run pages, run history) add their routes here.
urlpatterns: list[URLPattern] = [
    path("tools/<uuid:tool_id>/run", run_page.tool_run, name="tool-run"),
]
