from typing import Any

from rest_framework.request import Request
from rest_framework.serializers import BaseSerializer


def validated(serializer_class: type[BaseSerializer[Any]], request: Request) -> dict[str, Any]:
    """Validate the request body with an input serializer; failures become 422 envelopes."""
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
