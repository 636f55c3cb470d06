"""Errors of the /collections/ data API: flat `{"error": message, "code": CODE}` bodies, as
existing Lightning clients expect, with write operations keeping their `upserted`/`deleted`."""

from typing import Any

from rest_framework.response import Response

from apps.core.api.exception_handler import (
    describe_exception,
    flat_error_body,
    request_method,
)


def handle_collections_exception(exc: Exception, context: dict[str, Any]) -> Response | None:
    error = describe_exception(exc, method=request_method(context))
    if error is None:
        return None
    body = flat_error_body(error, getattr(context.get("view"), "error_fields", {}))
    return Response(body, status=error.status, headers=error.headers)
