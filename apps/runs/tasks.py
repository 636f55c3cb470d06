from typing import Any

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings

from apps.runs import services
from apps.runs.runner.backends import sweep_stale_workdirs

# A task's own limits sit above the run's wall limit: the runner kills the sandbox first, and the
# hard limit only stops a worker that is stuck outside the sandbox.
_SANDBOX_LIMITS: dict[str, Any] = {
    "soft_time_limit": settings.RUN_WALL_SECONDS_SANDBOX + 60,
    "time_limit": settings.RUN_WALL_SECONDS_SANDBOX + 90,
}
_PRODUCTION_LIMITS: dict[str, Any] = {
    "soft_time_limit": settings.RUN_WALL_SECONDS_PRODUCTION + 60,
    "time_limit": settings.RUN_WALL_SECONDS_PRODUCTION + 90,
}


@shared_task(acks_late=True, **_SANDBOX_LIMITS)
def execute_sandbox_run_task(run_id: str) -> str | None:
    """Queue `sandbox`: sandbox previews and sandbox actions."""
    return services.execute_run(run_id=run_id)


@shared_task(acks_late=True, **_PRODUCTION_LIMITS)
def execute_production_run_task(run_id: str) -> str | None:
    """Queue `runs`: runs of published tools."""
    return services.execute_run(run_id=run_id)


@shared_task
def reap_stuck_runs_task(**kwargs: object) -> dict[str, int]:
    """Beat job: time out runs whose worker died; re-send queued runs nobody picked up."""
    return services.reap_stuck_runs()


@shared_task
def cleanup_run_files_task(**kwargs: object) -> dict[str, Any]:
    """Beat job: expired session files, old artifacts, orphaned input spools."""
    return services.cleanup_run_files()


@worker_ready.connect
def _sweep_run_folders_at_start(**kwargs: object) -> None:
    # A worker killed mid-run leaves its /work folder behind; nothing runs longer than this.
    longest = max(settings.RUN_WALL_SECONDS_SANDBOX, settings.RUN_WALL_SECONDS_PRODUCTION)
    sweep_stale_workdirs(max_age_s=longest + 120)
