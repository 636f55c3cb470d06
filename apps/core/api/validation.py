from collections.abc import Mapping
from typing import Any

from rest_framework.request import Request
from rest_framework.serializers import BaseSerializer

from apps.core.exceptions import ValidationFailed

NOT_AN_OBJECT = "The request body must be a JSON object."


def body_object(request: Request) -> Mapping[str, Any]:
    """The request body as an object (a JSON object or a multipart form). A JSON list, string,
    number or null has no fields to read: the same 422 as a serializer-validated body, on every
    /api/v1 endpoint (docs/api.md, "Errors").

    :raises ValidationFailed:
    """
    if not isinstance(request.data, Mapping):
        raise ValidationFailed(NOT_AN_OBJECT)
    return request.data


def validated(serializer_class: type[BaseSerializer[Any]], request: Request) -> dict[str, Any]:
    """Validate the request body with an input serializer; failures become 422 envelopes."""
    serializer = serializer_class(data=body_object(request))
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
