from typing import Any

from celery import shared_task

from apps.kvcollections import services


@shared_task
def recount_collection_counters_task(**kwargs: object) -> list[dict[str, Any]]:
    """Beat job: repair byte_size/item_count drift (there should be none; it is logged if any)."""
    return services.recount_collection_counters()
