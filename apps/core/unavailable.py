"""Failures that mean "a service we depend on cannot be reached right now", not "a bug".

PostgreSQL refusing or dropping connections (down, restarting, shutting down, out of connection
slots) and Redis or the broker not answering become 503 with Retry-After, on the API and on
pages alike (apps/core/api/exception_handler.py, apps/core/views.py), never a 500.
"""

import logging
from dataclasses import dataclass
from types import TracebackType

import kombu.exceptions
import redis.exceptions
from django.conf import settings
from django.db import utils as db_utils

# SQLSTATEs of a server that is going away or not yet back: admin/crash shutdown, starting up,
# too many connections. Class 08 (connection exception) is matched by prefix.
_UNAVAILABLE_SQLSTATES = {"57P01", "57P02", "57P03", "53300"}
# Django's commit path: a failure inside it leaves the transaction's fate unknown.
_COMMIT_FRAMES = {"commit", "_commit"}


@dataclass(frozen=True)
class Unavailable:
    dependency: str  # "database" or "redis"
    outcome: str | None  # writes only: "not_applied" or "unknown"

    @property
    def retry_after(self) -> int:
        return int(settings.UNAVAILABLE_RETRY_AFTER_SECONDS)

    @property
    def message(self) -> str:
        text = {
            "database": "The database cannot be reached right now; retry in a moment.",
            "redis": "Redis cannot be reached right now; retry in a moment.",
        }[self.dependency]
        if self.outcome == "not_applied":
            return text + " Nothing was changed."
        if self.outcome == "unknown":
            return text + " The connection broke while saving: read before you retry."
        return text

    @property
    def details(self) -> dict[str, object]:
        details: dict[str, object] = {
            "dependency": self.dependency,
            "retry_after_seconds": self.retry_after,
        }
        if self.outcome is not None:
            details["outcome"] = self.outcome
        return details


def unavailable(exc: BaseException | None, *, method: str = "GET") -> Unavailable | None:
    """What `exc` says about our dependencies; None when it is not an outage."""
    dependency = _dependency(exc)
    if dependency is None:
        return None
    outcome = None
    if method not in ("GET", "HEAD", "OPTIONS"):
        outcome = "unknown" if _failed_while_committing(exc) else "not_applied"
    return Unavailable(dependency=dependency, outcome=outcome)


def _dependency(exc: BaseException | None) -> str | None:
    if isinstance(exc, db_utils.InterfaceError):
        return "database"  # Django's "connection already closed"
    if isinstance(exc, db_utils.OperationalError):
        state = getattr(exc.__cause__, "sqlstate", None)
        if state is None or state.startswith("08") or state in _UNAVAILABLE_SQLSTATES:
            return "database"
        return None  # a query the server refused (timeout, deadlock): not an outage
    if isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
        return "redis"
    if isinstance(exc, kombu.exceptions.OperationalError):
        return "redis"  # the Celery broker
    return None


def _failed_while_committing(exc: BaseException | None) -> bool:
    """A write that failed before COMMIT was rolled back by the server with the connection;
    one that failed during COMMIT may have been saved, the answer was lost."""
    traceback: TracebackType | None = exc.__traceback__ if exc is not None else None
    while traceback is not None:
        if traceback.tb_frame.f_code.co_name in _COMMIT_FRAMES:
            return True
        traceback = traceback.tb_next
    return False


class OutageTracebackFilter(logging.Filter):
    """Django logs every 5xx with its traceback; for an outage one line is enough (the access
    log has the request, /healthz the dependency), or each request of an outage logs a page."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and unavailable(record.exc_info[1]) is not None:
            record.msg = f"{record.msg} ({type(record.exc_info[1]).__name__}: dependency down)"
            record.exc_info = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True
