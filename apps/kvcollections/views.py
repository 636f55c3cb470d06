"""Collection pages in a project's settings area, the item browser and the JSON download."""

import json
import sys
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from apps.core.exceptions import BadRequest, NotFound
from apps.core.web import domain_errors_to_messages
from apps.kvcollections import access, queries, services
from apps.kvcollections.api.streaming import array_body
from apps.kvcollections.exceptions import PatternTooSlow
from apps.kvcollections.forms import CollectionForm, ItemSearchForm
from apps.kvcollections.models import Collection
from apps.kvcollections.queries import ItemFilter
from apps.projects import access as projects_access
from apps.projects.models import ProjectRole

ITEMS_PER_PAGE = 50
PREVIEW_CHARACTERS = 200


@login_required
@domain_errors_to_messages
def collection_list(request: HttpRequest, project_id: str) -> HttpResponse:
    """A project's collections for every member; admins and owners create them here."""
    project = projects_access.get_project_for_user(
        user=request.user,
        project_id=project_id,
        min_role=ProjectRole.ADMIN if request.method == "POST" else ProjectRole.VIEWER,
    )
    form = CollectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        collection = services.create_collection(project=project, name=form.cleaned_data["name"])
        messages.success(request, f"Collection “{collection.name}” created.")
        return redirect("kvcollections:collection-list", project_id=project.pk)
    context = {
        "project": project,
        "collections": list(access.collections_of(project).order_by("name")),
        "is_admin": project.caller_role.rank >= ProjectRole.ADMIN.rank,
        "form": form,
    }
    return render(request, "kvcollections/collection_list.html", context)


@login_required
@require_POST
@domain_errors_to_messages
def collection_rename(request: HttpRequest, project_id: str, name: str) -> HttpResponse:
    collection = access.get_collection_for_user(
        user=request.user, project_id=project_id, name=name, min_role=ProjectRole.ADMIN
    )
    form = CollectionForm(request.POST)
    if form.is_valid():
        services.rename_collection(collection=collection, name=form.cleaned_data["name"])
        messages.success(request, f"Collection “{name}” renamed to “{collection.name}”.")
    else:
        reason = " ".join(str(error) for error in form.errors["name"])
        messages.error(request, f"“{name}” was not renamed. {reason}")
    return redirect("kvcollections:collection-list", project_id=collection.project_id)


@login_required
@require_POST
@domain_errors_to_messages
def collection_delete(request: HttpRequest, project_id: str, name: str) -> HttpResponse:
    collection = access.get_collection_for_user(
        user=request.user, project_id=project_id, name=name, min_role=ProjectRole.ADMIN
    )
    items = collection.item_count
    services.delete_collection(collection=collection)
    messages.success(request, f"Collection “{name}” deleted with its {items} item(s).")
    return redirect("kvcollections:collection-list", project_id=collection.project_id)


@login_required
@domain_errors_to_messages
def collection_detail(request: HttpRequest, project_id: str, name: str) -> HttpResponse:
    """Browse items in insertion order, a page at a time, optionally matching a key pattern."""
    collection = access.get_collection_for_user(
        user=request.user, project_id=project_id, name=name, min_role=ProjectRole.VIEWER
    )
    form = ItemSearchForm(request.GET)
    context = {
        "project": collection.project,
        "collection": collection,
        "form": form,
        **_item_page(request, collection, form),
    }
    return render(request, "kvcollections/collection_detail.html", context)


@login_required
@require_GET
@never_cache
def collection_download(request: HttpRequest, project_id: str, name: str) -> StreamingHttpResponse:
    """Every item as one JSON array, streamed a keyset page at a time."""
    try:
        collection = access.get_collection_for_user(
            user=request.user, project_id=project_id, name=name, min_role=ProjectRole.VIEWER
        )
    except (NotFound, BadRequest) as exc:
        raise Http404(exc.message) from exc
    pages = queries.iter_pages(
        collection=collection, item_filter=ItemFilter(), after_id=0, limit=sys.maxsize
    )
    response = StreamingHttpResponse(
        array_body(pages), content_type="application/json; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{collection.name}.json"'
    return response


def _item_page(
    request: HttpRequest, collection: Collection, form: ItemSearchForm
) -> dict[str, Any]:
    """The rows of the requested page and the links around it; form errors leave it empty."""
    rows: list[tuple[Any, ...]] = []
    more = False
    if form.is_valid():
        try:
            rows, more = next(
                queries.iter_pages(
                    collection=collection,
                    item_filter=form.item_filter(),
                    after_id=form.cleaned_data["cursor"],
                    limit=ITEMS_PER_PAGE,
                )
            )
        except PatternTooSlow as exc:
            form.add_error("key", exc.message)
    pattern = request.GET.get("key", "")
    search = {"key": pattern} if pattern else {}
    return {
        "items": [_preview(row) for row in rows],
        "preview_characters": PREVIEW_CHARACTERS,
        "pattern": pattern,
        "first_url": f"{request.path}?{urlencode(search)}" if "cursor" in request.GET else None,
        "next_url": (
            f"{request.path}?{urlencode({**search, 'cursor': queries.encode_cursor(rows[-1][0])})}"
            if more
            else None
        ),
    }


def _preview(row: tuple[Any, ...]) -> dict[str, Any]:
    _, key, value, created, updated = row
    text, is_json = readable_value(value)
    return {
        "key": key,
        "preview": text[:PREVIEW_CHARACTERS],
        "truncated": len(text) > PREVIEW_CHARACTERS,
        "is_json": is_json,
        "length": len(value),
        # The full timestamp goes in <time datetime=...>; the page shows it to the second.
        "created": created.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "created_text": created.strftime("%Y-%m-%d %H:%M:%S"),
        "updated": updated.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "updated_text": updated.strftime("%Y-%m-%d %H:%M:%S"),
    }


def readable_value(value: str) -> tuple[str, bool]:
    """The stored value as a person reads it, and whether it is JSON. Tools often store JSON
    written with escapes (`"Lagerl\\u00f6f"`); an object, array or string is shown pretty-printed
    with its characters as they are (`"Lagerlöf"`). Anything else is shown exactly as stored.
    The template escapes the text for HTML."""
    if value.lstrip()[:1] not in ("{", "[", '"'):
        return value, False
    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError):  # not JSON, or nested past Python's recursion limit
        return value, False
    return json.dumps(parsed, ensure_ascii=False, indent=2), True
