import sys
import time
from typing import Any

import orjson
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.views.decorators.cache import never_cache
from django.views.defaults import bad_request as html_bad_request
from django.views.defaults import page_not_found as html_page_not_found
from django.views.defaults import server_error as html_server_error

from apps.core.api.envelope import error_response, is_api_path, is_collections_path
from apps.core.api.exception_handler import describe_outage, flat_error_body
from apps.core.tasks import WORKER_HEARTBEAT_KEY
from apps.core.unavailable import Unavailable, unavailable


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Report whether the database and Redis answer, and how fresh the worker heartbeat is."""
    database = _probe(lambda: connection.cursor().execute("SELECT 1"))
    redis = _probe(lambda: cache.get(WORKER_HEARTBEAT_KEY))
    heartbeat = cache.get(WORKER_HEARTBEAT_KEY) if redis == "ok" else None
    age = round(time.time() - float(heartbeat), 1) if heartbeat else None
    worker = "ok" if age is not None and age < settings.WORKER_HEARTBEAT_STALE_SECONDS else "stale"
    healthy = database == "ok" and redis == "ok"
    body = {
        "status": "ok" if healthy else "unavailable",
        "database": database,
        "redis": redis,
        "worker": {"status": worker, "heartbeat_age_seconds": age},
    }
    response = JsonResponse(body, status=200 if healthy else 503)
    if not healthy:
        response["Retry-After"] = str(settings.UNAVAILABLE_RETRY_AFTER_SECONDS)
    return response


def _probe(check: Any) -> str:
    try:
        check()
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"


def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    return error_response(404, "NOT_FOUND", "No API endpoint matches this path.")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api_path(request.path):
        return error_response(400, "BAD_REQUEST", "The request is malformed.")
    return html_bad_request(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api_path(request.path):
        return api_not_found(request)
    return html_page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's handler500, called while the exception is being handled: an outage of the
    database or Redis anywhere in the request (middleware included) answers 503, not 500."""
    outage = unavailable(sys.exc_info()[1], method=request.method or "GET")
    if outage is not None:
        return _unavailable_response(request, outage)
    if is_api_path(request.path):
        return error_response(500, "INTERNAL_ERROR", "An unexpected error occurred.")
    return html_server_error(request)


def _unavailable_response(request: HttpRequest, outage: Unavailable) -> HttpResponse:
    error = describe_outage(outage)
    if is_api_path(request.path):
        response = error_response(503, error.code, error.message, error.details)
    elif is_collections_path(request.path):
        response = HttpResponse(
            orjson.dumps(flat_error_body(error)), status=503, content_type="application/json"
        )
    else:
        # A static template, no context processors: they could need the database too.
        page = loader.get_template("503.html").render({"retry_after": outage.retry_after})
        response = HttpResponse(page, status=503)
    response["Retry-After"] = str(outage.retry_after)
    return response
