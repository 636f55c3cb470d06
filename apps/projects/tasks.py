from celery import shared_task

from apps.projects import services


@shared_task
def purge_scheduled_projects_task(**kwargs: object) -> int:
    """Beat job: delete projects whose deletion grace period has ended."""
    return services.purge_scheduled_projects()
