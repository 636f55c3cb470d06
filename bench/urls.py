"""The application's URLs plus the reference views the benchmarks compare to: `bench/bare`
(no authentication), `bench/bare-auth` (the default token authentication, nothing else) and
`bench/bare-page` (a signed-in HTML page with nothing on it)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from skriptoteket.urls import handler400, handler404, handler500
from skriptoteket.urls import urlpatterns as app_urlpatterns


class BareView(APIView):
    """A DRF view with no authentication, permission or throttle work: the floor for the server.

    It still runs every middleware and the configured JSON renderer, so a ratio against it
    measures what an endpoint adds on top of the framework, not the framework itself.
    """

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    def get(self, request: Request) -> Response:
        return Response({"message": "ok"})


class BareAuthView(APIView):
    """The bare view plus the project's default authentication (Bearer token first) and
    IsAuthenticated: the floor for any token-authenticated endpoint. No throttling, no data.
    """

    # authentication_classes: DRF's DEFAULT_AUTHENTICATION_CLASSES, as every API view uses.
    permission_classes = [IsAuthenticated]
    throttle_classes = []

    def get(self, request: Request) -> Response:
        return Response({"message": "ok"})


@login_required
def bare_page(request: HttpRequest) -> HttpResponse:
    """`base.html` for the signed-in user, reading nothing else: the floor of any signed-in page
    (session and user lookups, the middleware, the layout template)."""
    return render(request, "base.html")


urlpatterns = [
    path("bench/bare", BareView.as_view(), name="bench-bare"),
    path("bench/bare-page", bare_page, name="bench-bare-page"),
    path("bench/bare-auth", BareAuthView.as_view(), name="bench-bare-auth"),
    *app_urlpatterns,
]

# Django reads the error handlers from the root URLconf module, so re-export the app's.
__all__ = ["handler400", "handler404", "handler500", "urlpatterns"]
