"""Domain errors. Services raise these; one handler per interface maps them to responses."""

from typing import Any, ClassVar


class DomainError(Exception):
    """Base of every expected failure. `code` is stable and machine-readable."""

    code: ClassVar[str] = "ERROR"
    default_message: ClassVar[str] = "The request could not be completed."

    def __init__(
        self, message: str | None = None, *, code: str | None = None, details: Any = None
    ) -> None:
        self.message = message or self.default_message
        if code is not None:
            self.code = code  # type: ignore[misc]
        self.details = details if details is not None else {}
        super().__init__(self.message)


class BadRequest(DomainError):
    code = "BAD_REQUEST"
    default_message = "The request is malformed."


class NotFound(DomainError):
    code = "NOT_FOUND"
    default_message = "Not found."


class PermissionDenied(DomainError):
    code = "FORBIDDEN"
    default_message = "You do not have permission to perform this action."


class Conflict(DomainError):
    code = "CONFLICT"
    default_message = "The request conflicts with the current state."


class ValidationFailed(DomainError):
    code = "VALIDATION_ERROR"
    default_message = "The submitted data is not valid."

    @classmethod
    def for_field(cls, field: str, message: str) -> "ValidationFailed":
        """A problem with one field, named in `details.fields` as forms and the editor read it."""
        return cls(message, details={"fields": {field: [message]}})


class RateLimited(DomainError):
    code = "RATE_LIMITED"
    default_message = "Too many requests."


class ServiceUnavailable(DomainError):
    code = "SERVICE_UNAVAILABLE"
    default_message = "The service is temporarily unavailable; retry later."
