import uuid
from typing import ClassVar

from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual

from apps.core.models import TimeStampedModel
from apps.projects.models import Project

# Lower-case letters and digits in segments joined by single "-", "_" or ".": safe in any URL.
NAME_PATTERN = r"^[a-z0-9]+([-_.][a-z0-9]+)*$"
KEY_MAX_LENGTH = 255
# Characters, as Lightning counts them (PostgreSQL char_length).
VALUE_MAX_LENGTH = 1_000_000


class Collection(TimeStampedModel):
    """A per-project key-value store; `updated_at` moves with every item write (last modified)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="collections")
    name = models.CharField(
        max_length=255,
        validators=[
            RegexValidator(NAME_PATTERN, "Use lower-case letters and digits, joined by - _ or .")
        ],
    )
    # Maintained by every item write in the write's own transaction (SQL deltas under the
    # collection row lock); the recount beat job repairs and logs any drift.
    byte_size = models.BigIntegerField(default=0, editable=False)
    item_count = models.BigIntegerField(default=0, editable=False)
    # The largest value ever written here (octets; the recount lowers it). Streams of collections
    # with small values skip the per-page byte budget, which only large values need.
    max_value_bytes = models.BigIntegerField(default=0, editable=False)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["project", "name"], name="kvcollections_name_unique_in_project"
            ),
            models.CheckConstraint(
                condition=models.Q(name__regex=NAME_PATTERN), name="kvcollections_name_url_safe"
            ),
            models.CheckConstraint(
                condition=models.Q(byte_size__gte=0, item_count__gte=0),
                name="kvcollections_counters_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CollectionItem(models.Model):
    """One key and its string value. `id` comes from a sequence: insertion order and cursor."""

    id = models.BigAutoField(primary_key=True)
    collection = models.ForeignKey(
        Collection, on_delete=models.CASCADE, related_name="items", db_index=False
    )
    # "C" collation: byte order, so the (collection, key) unique index also serves LIKE 'prefix%'.
    key = models.CharField(max_length=KEY_MAX_LENGTH, db_collation="C")
    value = models.TextField()
    # Set explicitly by the services: every row of one bulk upsert gets the same instant.
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["collection", "key"], name="kvcollections_key_unique_in_collection"
            ),
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("value"), VALUE_MAX_LENGTH),
                name="kvcollections_value_max_length",
            ),
            models.CheckConstraint(condition=~models.Q(key=""), name="kvcollections_key_not_empty"),
        ]
        indexes: ClassVar = [
            # Used by every keyset page: WHERE collection_id = %s AND id > %s ORDER BY id.
            models.Index(fields=["collection", "id"], name="kvcollections_item_cursor"),
        ]

    def __str__(self) -> str:
        return self.key
