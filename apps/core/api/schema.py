"""drf-spectacular hooks: keep the /api/v1 routes, and document the error envelope on every
/api/v1 operation. The /collections/ data API is added by apps/kvcollections/api/schema.py."""

from typing import Any

ERROR_ENVELOPE = {
    "type": "object",
    "required": ["error", "request_id"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "example": "NOT_FOUND"},
                "message": {"type": "string"},
                "details": {"type": "object", "additionalProperties": True},
            },
        },
        "request_id": {"type": "string", "nullable": True},
    },
}

_COMMON_ERRORS = {
    "400": "Malformed request (unparseable JSON, bad identifier).",
    "401": "Missing, malformed, unknown, revoked or expired credentials.",
    "403": "Visible but not allowed for your role.",
    "404": "Not found, or not visible to you.",
    "413": "Request body too large.",
    "422": "Validation failed; details.fields names each problem.",
    "429": "Throttled; see Retry-After.",
}
# Only requests that change something can conflict with the current state or carry a body.
_WRITE_ERRORS = {
    "409": "Conflicts with the current state; error.code says how (docs/api.md lists the codes "
    "of each endpoint).",
    "415": "Send Content-Type: application/json (or the multipart form the endpoint names).",
}
_WRITES = {"post", "put", "patch", "delete"}


def only_api_v1(endpoints: list[tuple[Any, ...]], **kwargs: Any) -> list[tuple[Any, ...]]:
    """The /api/v1 routes; the data API's one catch-all route is replaced by its documented
    routes in the next hook (apps/kvcollections/api/schema.py)."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/v1/")]


def add_error_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """The envelope's error statuses on every /api/v1 operation, and the envelope as the body of
    every error status an operation names with a description alone. The data API documents its
    flat error bodies itself."""
    api_paths = [item for path, item in result.get("paths", {}).items() if path.startswith("/api/")]
    if not api_paths:
        return result
    result.setdefault("components", {}).setdefault("schemas", {})["ErrorEnvelope"] = ERROR_ENVELOPE
    ref = {"$ref": "#/components/schemas/ErrorEnvelope"}
    for path_item in api_paths:
        for method, operation in path_item.items():
            responses = operation.setdefault("responses", {})
            for status, response in responses.items():
                if int(status) >= 400 and "content" not in response:
                    response["content"] = {"application/json": {"schema": ref}}
            errors = {**_COMMON_ERRORS, **(_WRITE_ERRORS if method in _WRITES else {})}
            for status, description in errors.items():
                responses.setdefault(
                    status,
                    {"description": description, "content": {"application/json": {"schema": ref}}},
                )
    return result
