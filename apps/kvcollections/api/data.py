"""The /collections/ data API, compatible with OpenFn Lightning clients.

One view serves both versions: `x-api-version` picks how the path is read (v1 `/{name}[/{key}]`,
v2 `/{project_id}/{name}[/{key}]`) and how the collection is resolved; the operations are shared.
Order of checks: credentials (401) -> version (400) -> path shape (404) -> resolve within the
caller's scope (404/409) -> role (403) -> parameters and body (400/422) -> work.
"""

import uuid
from dataclasses import dataclass
from typing import Any, TypedDict

from django.http import HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api.authentication import CollectionsTokenAuthentication
from apps.accounts.services import TokenCredential, authenticate_api_token
from apps.core.api.parsers import JSONParser
from apps.core.api.renderers import JSONRenderer
from apps.core.exceptions import BadRequest, ValidationFailed
from apps.core.identifiers import parse_uuid
from apps.kvcollections import access, queries, services
from apps.kvcollections.access import Caller, CollectionAccess, ItemRead, Operation
from apps.kvcollections.api import inputs
from apps.kvcollections.api.errors import handle_collections_exception
from apps.kvcollections.api.streaming import stream_body
from apps.kvcollections.api.versioning import ApiVersionHeader, requested_version
from apps.kvcollections.exceptions import (
    CollectionNotFound,
    InvalidQuery,
    UnsupportedApiVersion,
)

# The request attribute holding (credential, ItemRead) when item_reads.serve ran the statement
# but left the answer to this view: the view answers from it instead of reading again.
READ_BY_ITEM_READS = "collections_item_read"


class ItemLookup(TypedDict):
    """What `access.read_item` needs besides the token."""

    name: str
    project_id: uuid.UUID | None
    key: str


@dataclass(frozen=True)
class Route:
    project_id: str | None
    name: str
    key: str | None


class CollectionsDataView(APIView):
    authentication_classes = [CollectionsTokenAuthentication]
    permission_classes = [IsAuthenticated]
    versioning_class = ApiVersionHeader
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]
    error_fields: dict[str, Any] = {}
    # Set by `authenticate_and_read` for an item GET: what the one statement read.
    item_read: ItemRead | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self.perform_authentication(request)
        self.check_permissions(request)  # 401 for missing credentials before the version check
        super().initial(request, *args, **kwargs)

    def authenticate_and_read(
        self, *, secret: str, kinds: frozenset[str]
    ) -> TokenCredential | None:
        """An item GET checks the token, resolves the collection and reads the item in one
        statement (access.read_item), unless item_reads.serve already ran it for this request;
        `_get_item` then answers from what it read, with the same checks in the same order. Any
        other request checks the token alone."""
        read: tuple[TokenCredential | None, ItemRead | None] = getattr(
            self.request, READ_BY_ITEM_READS, None
        ) or self._read(secret=secret, kinds=kinds)
        credential, self.item_read = read
        return credential

    def _read(
        self, *, secret: str, kinds: frozenset[str]
    ) -> tuple[TokenCredential | None, ItemRead | None]:
        lookup = item_lookup(self.request, self.kwargs.get("path"))
        if lookup is None:
            return authenticate_api_token(secret=secret, kinds=kinds), None
        return access.read_item(secret=secret, kinds=kinds, **lookup)

    def get_exception_handler(self) -> Any:
        return handle_collections_exception

    def http_method_not_allowed(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Response:
        raise CollectionNotFound()

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = super().dispatch(request, *args, **kwargs)
        if getattr(self.request, "version", None) == "1":
            response["Deprecation"] = "true"  # v1 resolves names; new clients should use v2
        return response

    def get(self, request: Request, path: str | None = None) -> HttpResponseBase:
        route = self._route(path)
        if route.key is not None:
            return self._get_item(route)
        return self._stream(route)

    def put(self, request: Request, path: str | None = None) -> Response:
        route = self._route(path)
        if route.key is None:
            raise CollectionNotFound()
        self.error_fields = {"upserted": 0}
        target = self._authorized(route, Operation.WRITE)
        inputs.query_params(request.query_params, ())
        key, value = inputs.key(route.key), inputs.put_value(request.data)
        upserted = services.put_item(collection=target.collection, key=key, value=value)
        return Response({"upserted": upserted, "error": None})

    def post(self, request: Request, path: str | None = None) -> Response:
        route = self._route(path)
        if route.key is not None:
            raise CollectionNotFound()
        self.error_fields = {"upserted": 0}
        target = self._authorized(route, Operation.WRITE)
        inputs.query_params(request.query_params, ())
        items = inputs.bulk_items(request.data)
        upserted = services.put_items(collection=target.collection, items=items)
        return Response({"upserted": upserted, "error": None})

    def delete(self, request: Request, path: str | None = None) -> Response:
        route = self._route(path)
        if route.key is not None:
            return self._delete_item(route)
        self.error_fields = {"key": request.query_params.get("key"), "deleted": 0}
        params = _delete_params(request)
        target = self._authorized(route, Operation.DELETE_MANY)
        deleted = services.delete_items(
            collection=target.collection, item_filter=inputs.item_filter(params)
        )
        return Response({"key": params.get("key"), "deleted": deleted, "error": None})

    def _get_item(self, route: Route) -> Response:
        read = self.item_read
        if read is None:
            target = self._authorized(route, Operation.READ)
        else:
            target = read.access()
            target.authorize(Operation.READ)
        inputs.query_params(self.request.query_params, ())
        key = inputs.key(route.key or "")
        row = read.item if read else queries.get_item(collection_id=target.collection.pk, key=key)
        if row is None:
            return Response(status=204)
        return Response(queries.items_json([row])[0])

    def _stream(self, route: Route) -> StreamingHttpResponse:
        target = self._authorized(route, Operation.READ)
        params = inputs.query_params(self.request.query_params, inputs.STREAM_PARAMS)
        pages = queries.iter_pages(
            collection=target.collection,
            item_filter=inputs.item_filter(params),
            after_id=inputs.cursor(params),
            limit=inputs.limit(params),
        )
        first = next(pages)  # runs before the first byte, so its errors are still statuses
        return StreamingHttpResponse(stream_body(first, pages), content_type="application/json")

    def _delete_item(self, route: Route) -> Response:
        self.error_fields = {"key": route.key, "deleted": 0}
        target = self._authorized(route, Operation.DELETE_ITEM)
        inputs.query_params(self.request.query_params, ())
        key = inputs.key(route.key or "")
        if services.delete_item(collection=target.collection, key=key) == 0:
            return Response({"key": key, "deleted": 0, "error": "Item Not Found"})
        return Response({"key": key, "deleted": 1, "error": None})

    def _route(self, path: str | None) -> Route:
        return parse_route(path, self.request.version)

    def _authorized(self, route: Route, operation: Operation) -> CollectionAccess:
        credential = self.request.auth
        if not isinstance(credential, TokenCredential):
            raise NotAuthenticated()
        target = access.resolve_collection(
            caller=Caller.for_credential(credential), name=route.name, project_id=route.project_id
        )
        target.authorize(operation)
        return target


def item_lookup(request: HttpRequest | Request, path: str | None) -> ItemLookup | None:
    """The name, project and key of an item GET whose version, path, project id and key are
    valid; None for anything else, which then takes the usual path to its answer."""
    if request.method != "GET":
        return None
    try:
        route = parse_route(path, requested_version(request.META))
        if route.key is None or "\x00" in route.name:
            return None
        key = inputs.key(route.key)
        pk = parse_uuid(route.project_id, name="project_id") if route.project_id else None
    except (UnsupportedApiVersion, CollectionNotFound, ValidationFailed, BadRequest):
        return None
    return {"name": route.name, "project_id": pk, "key": key}


def parse_route(path: str | None, version: str | None) -> Route:
    """:raises CollectionNotFound: the path has not the shape of `version`'s routes"""
    segments = (path or "").split("/")
    project_id = segments.pop(0) if version == "2" and len(segments) > 1 else None
    if "" in segments or len(segments) not in (1, 2) or (version == "2" and project_id is None):
        raise CollectionNotFound()
    return Route(
        project_id=project_id, name=segments[0], key=segments[1] if len(segments) == 2 else None
    )


def _delete_params(request: Request) -> dict[str, str]:
    """Filters of DELETE many, from the query string and, as the original allows, a JSON body."""
    params = inputs.query_params(request.query_params, inputs.FILTER_PARAMS)
    body = request.data
    if not body:
        return params
    if not isinstance(body, dict) or set(body) - set(inputs.FILTER_PARAMS):
        raise InvalidQuery(f"A DELETE body may only hold {', '.join(inputs.FILTER_PARAMS)}.")
    for name, value in body.items():
        if not isinstance(value, str) or name in params:
            raise InvalidQuery(f"{name} must be a string given once.")
        params[name] = value
    return params
