import re
import time
import uuid
from collections.abc import Callable

import structlog
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from apps.core.api.envelope import error_response, is_api_path
from apps.core.logs import bind_request_id

access_log = structlog.get_logger("skriptoteket.access")

# A caller-supplied id is kept only when it is short and harmless to echo into logs and headers.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Give every request an id (header X-Request-ID), bind it to log lines, log one access line."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        bind_request_id(request_id)
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        user = getattr(request, "user", None)
        access_log.info(
            "request.finished",
            method=request.method,
            path=request.path,
            status=response.status_code,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
            user_id=user.pk if user is not None and user.is_authenticated else None,
        )
        return response


# Endpoints that accept uploaded files with a run.
RUN_PATH_SUFFIXES = ("/run-sandbox", "/run")


class RequestBodyLimitMiddleware:
    """Refuse oversized API bodies with a JSON 413 before anything reads them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api_path(request.path):
            limit = (
                settings.API_MAX_RUN_BODY_BYTES
                if request.path.endswith(RUN_PATH_SUFFIXES)
                else settings.API_MAX_BODY_BYTES
            )
            if declared_length(request) > limit:
                return error_response(
                    413,
                    "PAYLOAD_TOO_LARGE",
                    f"Request body exceeds the limit of {limit} bytes.",
                    {"max_bytes": limit},
                )
        return self.get_response(request)


def declared_length(request: HttpRequest) -> int:
    """The request's Content-Length; 0 when missing or malformed (Django reads nothing then)."""
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0
