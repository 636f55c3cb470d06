from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from apps.core.middleware import declared_length
from apps.kvcollections.api import item_reads


class CollectionsBodyLimitMiddleware:
    """Refuse data API bodies over COLLECTIONS_MAX_BODY_BYTES with a flat JSON 413."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/collections/"):
            limit = settings.COLLECTIONS_MAX_BODY_BYTES
            if declared_length(request) > limit:
                body = {
                    "error": f"Request body exceeds {limit} bytes.",
                    "code": "PAYLOAD_TOO_LARGE",
                }
                return JsonResponse(body, status=413)
        return self.get_response(request)


class ItemReadMiddleware:
    """Answer plain item reads of the data API before the middleware below it and DRF (see
    apps/kvcollections/api/item_reads.py); every other request passes through."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "GET" and request.path_info.startswith(item_reads.PREFIX):
            response = item_reads.serve(request)
            if response is not None:
                return response
        return self.get_response(request)
