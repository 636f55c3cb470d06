"""Serializer fields that accept JSON strings only: DRF's CharField would turn 12 into "12"."""

from typing import Any

from rest_framework import serializers
from rest_framework.fields import empty


class _StringOnly:
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")  # type: ignore[attr-defined]
        return super().to_internal_value(data)  # type: ignore[misc, no-any-return]


class StrictCharField(_StringOnly, serializers.CharField):
    default_error_messages = {"invalid": "Must be a string."}


class OptionalCharField(StrictCharField):
    """A text field a client may also send as null, which reads as if it were left out (the
    field's default applies). The original editor API's clients send null for empty optional
    text, so `null` and an omitted field mean the same on every body that uses this field."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(allow_null=True, **kwargs)

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        return super().validate_empty_values(empty if data is None else data)


class StrictEmailField(_StringOnly, serializers.EmailField):
    pass


class StrictRegexField(_StringOnly, serializers.RegexField):
    pass


class StrictIntegerField(serializers.IntegerField):
    """Integers as JSON numbers only: no "5" strings, no booleans, no 5.5."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """Booleans as JSON true/false only: no "yes", no 1."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data
