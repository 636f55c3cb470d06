from django.urls import URLPattern, path

from apps.portal.views import catalog

app_name = "portal"

# The page families (catalog, run pages, run history) add their routes here.
urlpatterns: list[URLPattern] = [
    path("tools/", catalog.catalog, name="catalog"),
    path("tools/results", catalog.catalog_results, name="catalog-results"),
    path("tools/<uuid:tool_id>/favorite", catalog.tool_favorite, name="tool-favorite"),
]
