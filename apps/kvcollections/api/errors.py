"""Errors of the /collections/ data API: flat `{"error": message, "code": CODE}` bodies, as
existing Lightning clients expect, with write operations keeping their `upserted`/`deleted`."""

from typing import Any

from rest_framework.response import Response

from apps.core.api.exception_handler import describe_exception


def handle_collections_exception(exc: Exception, context: dict[str, Any]) -> Response | None:
    error = describe_exception(exc)
    if error is None:
        return None
    view = context.get("view")
    body: dict[str, Any] = dict(getattr(view, "error_fields", {}))
    body.update(error=error.message, code=error.code)
    if isinstance(error.details, dict) and "index" in error.details:
        body["index"] = error.details["index"]
    return Response(body, status=error.status, headers=error.headers)
