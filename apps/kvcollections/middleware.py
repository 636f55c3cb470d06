from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse


class CollectionsBodyLimitMiddleware:
    """Refuse data API bodies over COLLECTIONS_MAX_BODY_BYTES with a flat JSON 413."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/collections/"):
            limit = settings.COLLECTIONS_MAX_BODY_BYTES
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit:
                body = {
                    "error": f"Request body exceeds {limit} bytes.",
                    "code": "PAYLOAD_TOO_LARGE",
                }
                return JsonResponse(body, status=413)
        return self.get_response(request)
