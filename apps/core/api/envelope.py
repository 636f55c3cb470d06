"""The `/api/v1` error envelope: {"error": {"code", "message", "details"}, "request_id"}."""

from typing import Any

import orjson
from django.http import HttpResponse

from apps.core.logs import current_request_id


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "details": details if details is not None else {},
        },
        "request_id": current_request_id(),
    }


def error_response(status: int, code: str, message: str, details: Any = None) -> HttpResponse:
    """Build an envelope response outside DRF (middleware, URL fallbacks, Django handlers)."""
    return HttpResponse(
        orjson.dumps(error_body(code, message, details)),
        status=status,
        content_type="application/json",
    )


def is_api_path(path: str) -> bool:
    return path.startswith("/api/")


def is_collections_path(path: str) -> bool:
    """The /collections/ data API, whose errors are flat (exception_handler.flat_error_body)."""
    return path == "/collections" or path.startswith("/collections/")
