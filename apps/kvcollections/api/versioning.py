from collections.abc import Mapping
from typing import Any

from rest_framework.request import Request
from rest_framework.versioning import BaseVersioning

from apps.kvcollections.exceptions import UnsupportedApiVersion

SUPPORTED = ("1", "2")


class ApiVersionHeader(BaseVersioning):
    """`x-api-version`: missing or "1" -> v1, "2" -> v2; anything else, or repeated, -> 400.

    The value is compared exactly (no trimming, no case folding), as the original does.
    """

    default_version = "1"
    allowed_versions = SUPPORTED

    def determine_version(self, request: Request, *args: Any, **kwargs: Any) -> str:
        return requested_version(request.META)


def requested_version(meta: Mapping[str, Any]) -> str:
    """The version a request's headers (WSGI `META`) ask for.

    :raises UnsupportedApiVersion:
    """
    raw = meta.get("HTTP_X_API_VERSION")
    if raw is None:
        return "1"
    # WSGI servers join a repeated header with commas.
    value = "multiple" if "," in raw else raw
    if value not in SUPPORTED:
        raise UnsupportedApiVersion(
            f'Unsupported API version: "{value}". Supported versions: 1, 2.'
        )
    return value
