from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.core import views as core_views
from apps.kvcollections.api.schema import V1_SCHEMA_SETTINGS
from apps.portal.views import catalog as portal_catalog

api_v1 = [
    path("", include("apps.accounts.api.urls")),
    path("", include("apps.projects.api.urls")),
    path("", include("apps.tools.api.urls")),
    path("", include("apps.runs.api.urls")),
    path("", include("apps.sandbox.api.urls")),
    path("", include("apps.sandbox_projects.api.urls")),
    path("", include("apps.kvcollections.api.urls")),
]

urlpatterns = [
    # First: the data API's requests are the hottest, and Django tries the patterns in order
    # (nothing else starts with "collections").
    path("", include("apps.kvcollections.api.data_urls")),
    path("api/v1/", include(api_v1)),  # next hottest; no page path starts with "api/"
    # Each role's landing page: the tool catalog for users, projects for authors.
    path("", portal_catalog.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("apps.accounts.urls")),
    path("projects/", include("apps.projects.urls")),
    path("", include("apps.kvcollections.urls")),
    path("", include("apps.sandbox_projects.urls")),
    path("", include("apps.editor.urls")),
    path("", include("apps.portal.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The /collections/ data API v1: its own document (apps/kvcollections/api/schema.py).
    path(
        "api/schema/collections-v1/",
        SpectacularAPIView.as_view(custom_settings=V1_SCHEMA_SETTINGS),
        name="api-schema-collections-v1",
    ),
    # The split view serves Swagger UI's start script as a file (`?script`): no inline script,
    # so the page works under the Content-Security-Policy.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # Anything else under /api/ answers with the JSON error envelope, never an HTML page.
    re_path(r"^api/", core_views.api_not_found),
]

handler400 = "apps.core.views.bad_request"
handler404 = "apps.core.views.page_not_found"
handler500 = "apps.core.views.server_error"
