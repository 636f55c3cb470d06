from typing import Any

import structlog
from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings

from apps.runs import services
from apps.runs.exceptions import RunnerUnavailable
from apps.runs.runner.backends import get_runner

log = structlog.get_logger(__name__)

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


@shared_task
def sweep_run_folders_task(**kwargs: object) -> int:
    """Beat job: delete run folders (and sandbox containers) a killed worker left behind, once
    their run has ended."""
    return services.sweep_run_folders()


@worker_ready.connect
def _sweep_run_folders_at_start(**kwargs: object) -> None:
    services.sweep_run_folders()


@worker_ready.connect
def _report_runner_at_start(**kwargs: object) -> None:
    # Say at start, not at the first run, when this host cannot run tools (e.g. no cgroups
    # outside DEBUG): every run would fail with "runner not available".
    try:
        get_runner().check_available()
    except RunnerUnavailable as exc:
        log.error("runner.unavailable_at_start", runner=settings.SANDBOX_RUNNER, hint=exc.message)
