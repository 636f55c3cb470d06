"""The one place where errors become API responses (status, code, message, details)."""

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response

from apps.core import exceptions as domain
from apps.core.api.envelope import error_body
from apps.core.unavailable import Unavailable, unavailable

DOMAIN_STATUS: dict[type[domain.DomainError], int] = {
    domain.BadRequest: 400,
    domain.PermissionDenied: 403,
    domain.NotFound: 404,
    domain.Conflict: 409,
    domain.ValidationFailed: 422,
    domain.RateLimited: 429,
    domain.ServiceUnavailable: 503,
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


@dataclass
class ApiError:
    status: int
    code: str
    message: str
    details: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


def describe_exception(exc: Exception, *, method: str = "GET") -> ApiError | None:
    """Translate any exception a view raised; None for bugs (Django's 500 handler takes those)."""
    outage = unavailable(exc, method=method)
    if outage is not None:
        return describe_outage(outage)
    if isinstance(exc, domain.DomainError):
        return ApiError(domain_status(exc), exc.code, exc.message, exc.details)
    if isinstance(exc, RequestDataTooBig):
        return ApiError(413, "PAYLOAD_TOO_LARGE", "Request body is too large.")
    if isinstance(exc, SuspiciousOperation):
        return ApiError(400, "BAD_REQUEST", "The request is malformed.")
    if isinstance(exc, DjangoValidationError):
        messages = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        exc = drf.ValidationError(detail=messages)
    elif isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    if not isinstance(exc, drf.APIException):
        return None
    return _describe_drf(exc)


def describe_outage(outage: Unavailable) -> ApiError:
    retry = {"Retry-After": str(outage.retry_after)}
    return ApiError(503, domain.ServiceUnavailable.code, outage.message, outage.details, retry)


def flat_error_body(error: ApiError, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """The /collections/ data API's flat `{"error": message, "code": CODE}` (plus the
    operation's fields, a bulk write's `index`, an outage's `retry_after_seconds`/`outcome`),
    which existing Lightning clients expect instead of the envelope."""
    body: dict[str, Any] = dict(fields or {})
    body.update(error=error.message, code=error.code)
    details = error.details if isinstance(error.details, dict) else {}
    kept = ("index", "retry_after_seconds", "outcome") if error.status == 503 else ("index",)
    body.update({name: details[name] for name in kept if name in details})
    return body


def domain_status(exc: domain.DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in DOMAIN_STATUS:
            return DOMAIN_STATUS[cls]
    return 400


def handle_api_exception(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF EXCEPTION_HANDLER for /api/v1: every failure becomes the envelope."""
    error = describe_exception(exc, method=request_method(context))
    if error is None:
        return None
    body = error_body(error.code, error.message, error.details)
    return Response(body, status=error.status, headers=error.headers)


def request_method(context: dict[str, Any]) -> str:
    """The method of the request a DRF exception handler's `context` is about."""
    request = context.get("request")
    return str(getattr(request, "method", "GET"))


def _describe_drf(exc: drf.APIException) -> ApiError:
    code = next((value for cls, value in DRF_CODES.items() if isinstance(exc, cls)), "ERROR")
    # Validation errors are 422 (the body parsed but is wrong); the rest keep DRF's status.
    if isinstance(exc, drf.ValidationError):
        error = ApiError(422, code, "The submitted data is not valid.")
        error.details = {"fields": _as_field_map(exc.detail)}
    else:
        error = ApiError(exc.status_code, code, str(exc.detail))
    wait = getattr(exc, "wait", None) if isinstance(exc, drf.Throttled) else None
    if wait is not None:
        error.headers["Retry-After"] = str(int(wait) + 1)
        error.details = {"retry_after_seconds": int(wait) + 1}
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        error.headers["WWW-Authenticate"] = auth_header
    return error


def _as_field_map(detail: Any) -> Any:
    """Validation details as {"field": ["message", ...]}, others under "non_field_errors"."""
    if isinstance(detail, dict):
        # List items' errors are keyed by their position (an int); JSON keys are strings.
        return {str(key): _as_field_map(value) for key, value in detail.items()}
    if isinstance(detail, list):
        if all(isinstance(item, str) for item in detail):
            return [str(item) for item in detail]
        return [_as_field_map(item) for item in detail]
    return {"non_field_errors": [str(detail)]}
