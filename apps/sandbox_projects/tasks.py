import uuid
from typing import Any

from celery import shared_task
from django.db import transaction

from apps.sandbox_projects import services


@shared_task
def sync_collections_to_descendants_task(project_id: str) -> int:
    """A collection was created in the project: its live sandboxes get an empty namesake."""
    return services.sync_collections_to_descendants(project_id=uuid.UUID(project_id))


@shared_task
def sync_all_sandbox_collections_task(**kwargs: object) -> int:
    """Beat job (every 5 minutes): the safety net for a sync task that was lost."""
    return services.sync_all_sandbox_collections()


def sync_on_collection_created(sender: Any, **kwargs: Any) -> None:
    """Receiver of kvcollections' `collection_created`: start the sync once the collection is
    committed (a rolled-back creation starts nothing)."""
    _sync_after_commit(str(kwargs["collection"].project_id))


def sync_on_collections_merged(sender: Any, **kwargs: Any) -> None:
    """Receiver of `collections_merged`: the merge target's sandboxes get the new names too."""
    _sync_after_commit(str(kwargs["project_id"]))


def _sync_after_commit(project_id: str) -> None:
    # robust: a broker that is down must not fail the request that created the collection;
    # the beat job repeats the sync.
    transaction.on_commit(
        lambda: sync_collections_to_descendants_task.delay(project_id), robust=True
    )
