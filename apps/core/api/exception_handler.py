"""The one place where errors become `/api/v1` responses."""

from typing import Any

import structlog
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response

from apps.core import exceptions as domain
from apps.core.api.envelope import error_body

log = structlog.get_logger(__name__)

DOMAIN_STATUS: dict[type[domain.DomainError], int] = {
    domain.BadRequest: 400,
    domain.PermissionDenied: 403,
    domain.NotFound: 404,
    domain.Conflict: 409,
    domain.ValidationFailed: 422,
    domain.RateLimited: 429,
}

DRF_CODES: dict[type[drf.APIException], str] = {
    drf.ParseError: "PARSE_ERROR",
    drf.ValidationError: "VALIDATION_ERROR",
    drf.AuthenticationFailed: "UNAUTHENTICATED",
    drf.NotAuthenticated: "UNAUTHENTICATED",
    drf.PermissionDenied: "FORBIDDEN",
    drf.NotFound: "NOT_FOUND",
    drf.MethodNotAllowed: "METHOD_NOT_ALLOWED",
    drf.NotAcceptable: "NOT_ACCEPTABLE",
    drf.UnsupportedMediaType: "UNSUPPORTED_MEDIA_TYPE",
    drf.Throttled: "THROTTLED",
}


def domain_status(exc: domain.DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in DOMAIN_STATUS:
            return DOMAIN_STATUS[cls]
    return 400


def handle_api_exception(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF EXCEPTION_HANDLER: every failure becomes the envelope; unknown errors stay 500s."""
    if isinstance(exc, domain.DomainError):
        return Response(error_body(exc.code, exc.message, exc.details), status=domain_status(exc))
    if isinstance(exc, DjangoValidationError):
        exc = drf.ValidationError(
            detail=exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body("PAYLOAD_TOO_LARGE", "Request body is too large."), status=413)
    if isinstance(exc, SuspiciousOperation):
        return Response(error_body("BAD_REQUEST", "The request is malformed."), status=400)
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    if not isinstance(exc, drf.APIException):
        return None  # a bug: Django logs it and the 500 handler renders the envelope
    return _drf_response(exc)


def _drf_response(exc: drf.APIException) -> Response:
    code = next((value for cls, value in DRF_CODES.items() if isinstance(exc, cls)), "ERROR")
    # Validation errors are 422 (the body parsed but is wrong); the rest keep DRF's status.
    status = 422 if isinstance(exc, drf.ValidationError) else exc.status_code
    if isinstance(exc, drf.ValidationError):
        message, details = "The submitted data is not valid.", {"fields": _as_field_map(exc.detail)}
    else:
        message, details = str(exc.detail), {}
    headers = {}
    wait = getattr(exc, "wait", None) if isinstance(exc, drf.Throttled) else None
    if wait is not None:
        headers["Retry-After"] = str(int(wait) + 1)
        details = {"retry_after_seconds": int(wait) + 1}
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    return Response(error_body(code, message, details), status=status, headers=headers)


def _as_field_map(detail: Any) -> Any:
    """Validation details as {"field": ["message", ...]}, others under "non_field_errors"."""
    if isinstance(detail, dict):
        return {key: _as_field_map(value) for key, value in detail.items()}
    if isinstance(detail, list):
        if all(isinstance(item, str) for item in detail):
            return [str(item) for item in detail]
        return [_as_field_map(item) for item in detail]
    return {"non_field_errors": [str(detail)]}
