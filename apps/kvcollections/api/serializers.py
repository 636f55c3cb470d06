from rest_framework import serializers

from apps.core.api.fields import StrictCharField
from apps.kvcollections.models import Collection


class CollectionSerializer(serializers.Serializer[Collection]):
    # Declared fields, not a ModelSerializer (see ProjectSerializer for the cost).
    id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(read_only=True)
    item_count = serializers.IntegerField(read_only=True)
    byte_size = serializers.IntegerField(read_only=True, help_text="Bytes of keys and values.")
    created_at = serializers.DateTimeField(read_only=True)
    last_modified = serializers.DateTimeField(
        source="updated_at", read_only=True, help_text="Time of the last item write or rename."
    )


class CollectionCreateSerializer(serializers.Serializer[None]):
    # Not trimmed: " name" is refused as not URL-safe rather than silently changed.
    name = StrictCharField(max_length=255, trim_whitespace=False)


class CollectionUpdateSerializer(serializers.Serializer[None]):
    name = StrictCharField(max_length=255, trim_whitespace=False)
