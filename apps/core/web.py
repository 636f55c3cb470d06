"""Helpers for template views: domain errors become messages (or a 404 page), never tracebacks,
or errors at the fields of the form that asked; a page's run polling interval."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme

from apps.core.exceptions import BadRequest, DomainError, NotFound

# `?poll_ms=` on a page that polls runs: browser tests poll faster; odd values fall back.
POLL_MS_RANGE = (100, 60_000)


def poll_ms_param(raw: str | None, default: int) -> int:
    """A page's run polling interval from its `?poll_ms=` (clamped), else `default`."""
    # ASCII digits only, and few of them: int() of thousands of digits raises.
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > 6:
        return default
    low, high = POLL_MS_RANGE
    return min(max(int(raw), low), high)


def domain_errors_to_messages(
    view: Callable[..., HttpResponse],
) -> Callable[..., HttpResponse]:
    """Render NotFound/BadRequest as 404 and other domain errors as a message on the same page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except (NotFound, BadRequest) as exc:
            raise Http404(exc.message) from exc
        except DomainError as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(_back(request))

    return wrapper


def _back(request: HttpRequest) -> str:
    """The page the form was posted from (same host only); home when that would loop."""
    referer = str(request.META.get("HTTP_REFERER", ""))
    same_host = url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    if referer and same_host and referer != request.build_absolute_uri():
        return referer
    return request.get_full_path() if request.method == "POST" else "/"


def add_domain_error(form: forms.Form, exc: DomainError, *, field: str | None = None) -> None:
    """Show a service's refusal on the form that asked for it: at each field its details name
    (`details["fields"]`, as ValidationFailed carries them), else at `field`, else above the
    form."""
    fields = exc.details.get("fields") if isinstance(exc.details, dict) else None
    placed = False
    for name, errors in (fields or {}).items():
        if name in form.fields:
            for error in errors:
                form.add_error(name, str(error))
            placed = True
    if not placed:
        form.add_error(field if field in form.fields else None, exc.message)


def focus_first_error(form: forms.Form) -> None:
    """Put the cursor, and so the browser's scroll, on the first field a refused form marks (or
    its first field when only the form as a whole was refused): the errors are seen at once."""
    names = list(form.fields)
    refused = [name for name in names if name in form.errors] or names[:1]
    if refused:
        form.fields[refused[0]].widget.attrs["autofocus"] = True
