from celery import shared_task

from apps.sandbox import services


@shared_task
def expire_sandbox_snapshots_task(**kwargs: object) -> dict[str, int]:
    """Beat job (hourly): expired snapshots with their sandbox sessions and session files."""
    return services.expire_sandbox_snapshots()
