import time

import structlog
from celery import shared_task
from django.core.cache import cache

log = structlog.get_logger(__name__)

WORKER_HEARTBEAT_KEY = "celery:worker-heartbeat"


@shared_task
def record_worker_heartbeat_task(**kwargs: object) -> float:
    """Write the time a worker last ran a task; /healthz reports its age."""
    now = time.time()
    cache.set(WORKER_HEARTBEAT_KEY, now, timeout=None)
    log.debug("worker.heartbeat", at=now)
    return now
