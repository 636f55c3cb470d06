from celery import shared_task

from apps.locks import services


@shared_task
def sweep_expired_draft_locks_task(**kwargs: object) -> int:
    """Beat job: free expired draft locks and record an `expired` event for each."""
    return services.sweep_expired_draft_locks()
