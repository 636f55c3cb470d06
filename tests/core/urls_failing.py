"""Test-only URLconf: the real routes plus an API view and a page that fail, to exercise the 500
envelope and the 500 page."""

from django.urls import path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny

from skriptoteket.urls import urlpatterns as real_patterns


@api_view(["GET"])
@permission_classes([AllowAny])
def explode(request):
    raise RuntimeError("boom")


def explode_page(request):
    raise RuntimeError("boom")


urlpatterns = [path("api/v1/explode", explode), path("explode", explode_page), *real_patterns]
handler500 = "apps.core.views.server_error"
