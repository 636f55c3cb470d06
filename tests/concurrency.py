"""Run jobs in threads that start together, each on its own database connection."""

import threading
from collections.abc import Callable
from typing import Any


def run_together(*jobs: Callable[[], Any]) -> list[tuple[str, Any]]:
    """Start every job at the same barrier; return ("ok", result) or ("error", exception) each,
    in completion order. Each thread closes its connection so the test database can be torn down."""
    from django.db import connection

    barrier = threading.Barrier(len(jobs))
    results: list[tuple[str, Any]] = []

    def run(job: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results.append(("ok", job()))
        except Exception as exc:
            results.append(("error", exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
