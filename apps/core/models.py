from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from apps.core.exceptions import ValidationFailed


class TimeStampedModel(models.Model):
    """Abstract base: every row knows when it was created and last changed."""

    created_at = models.DateTimeField(auto_now_add=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True, editable=False)

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        # `auto_now` only fires for fields being saved; keep updated_at honest on partial saves.
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "updated_at"}
        super().save(*args, **kwargs)


def validate_model(instance: models.Model) -> None:
    """Run model validation; failures become a 422 ValidationFailed naming each field.

    :raises ValidationFailed:
    """
    try:
        instance.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise ValidationFailed(details={"fields": exc.message_dict}) from None
