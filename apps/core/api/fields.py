"""Serializer fields that accept JSON strings only: DRF's CharField would turn 12 into "12"."""

from typing import Any

from rest_framework import serializers


class _StringOnly:
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")  # type: ignore[attr-defined]
        return super().to_internal_value(data)  # type: ignore[misc, no-any-return]


class StrictCharField(_StringOnly, serializers.CharField):
    default_error_messages = {"invalid": "Must be a string."}


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
