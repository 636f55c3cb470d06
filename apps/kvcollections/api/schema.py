"""OpenAPI description of the /collections/ data API, one document per API version.

The view (api/data.py) serves every path under /collections from one catch-all route and reads
the path according to `x-api-version`. OpenAPI cannot describe that in one document: v1
`/collections/{name}/{key}` and v2 `/collections/{project_id}/{name}` are the same template,
which the specification forbids twice. So each version is its own set of routes here, built as
documentation-only subclasses of the real view: the hooks below put v2 (current) into
/api/schema/ beside /api/v1, and v1 (deprecated) into its own document at
/api/schema/collections-v1/ (docs/api.md, "OpenAPI documents").
"""

from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers

from apps.kvcollections.api.data import CollectionsDataView
from apps.kvcollections.api.inputs import FILTER_PARAMS
from apps.kvcollections.models import KEY_MAX_LENGTH, NAME_PATTERN, VALUE_MAX_LENGTH

TAG = "collections-data"


class CollectionItemSerializer(serializers.Serializer[None]):
    key = serializers.CharField()
    value = serializers.CharField(help_text="Stored as sent: a string (often JSON text).")
    created = serializers.DateTimeField(help_text="UTC, microseconds, `Z`.")
    updated = serializers.DateTimeField(help_text="UTC, microseconds, `Z`.")


class CollectionStreamSerializer(serializers.Serializer[None]):
    items = CollectionItemSerializer(many=True)
    cursor = serializers.CharField(
        allow_null=True, help_text="Send back as `cursor` for the next page; null on the last."
    )


class UpsertResultSerializer(serializers.Serializer[None]):
    upserted = serializers.IntegerField()
    error = serializers.CharField(allow_null=True, help_text="Always null on success.")


class DeleteResultSerializer(serializers.Serializer[None]):
    key = serializers.CharField(allow_null=True, help_text="The key, or the pattern (or null).")
    deleted = serializers.IntegerField()
    error = serializers.CharField(allow_null=True, help_text='null, or "Item Not Found".')


class CollectionsErrorSerializer(serializers.Serializer[None]):
    """The flat error body of this API (not the /api/v1 envelope)."""

    error = serializers.CharField(help_text="A message for people.")
    code = serializers.CharField(help_text="A stable code, e.g. NOT_FOUND, BAD_REQUEST.")
    upserted = serializers.IntegerField(required=False, help_text="PUT and POST: always 0.")
    deleted = serializers.IntegerField(required=False, help_text="DELETE: always 0.")
    key = serializers.CharField(required=False, allow_null=True, help_text="DELETE: as sent.")
    index = serializers.IntegerField(required=False, help_text="Bulk upsert: the bad element.")


# Keys and values are text without NUL characters (inputs.py refuses them with 422).
_NO_NUL = r"^[^\x00]*$"


class PutItemSerializer(serializers.Serializer[None]):
    value = serializers.RegexField(_NO_NUL, max_length=VALUE_MAX_LENGTH, allow_blank=True)


class BulkElementSerializer(serializers.Serializer[None]):
    key = serializers.RegexField(_NO_NUL, min_length=1, max_length=KEY_MAX_LENGTH)
    value = serializers.RegexField(_NO_NUL, max_length=VALUE_MAX_LENGTH, allow_blank=True)


class BulkUpsertSerializer(serializers.Serializer[None]):
    items = BulkElementSerializer(many=True, help_text="At most COLLECTIONS_MAX_BULK_ITEMS.")


class DeleteFilterSerializer(serializers.Serializer[None]):
    """The same filters as the query string; each may come from one place only."""

    key = serializers.CharField(
        required=False, min_length=1, max_length=settings.COLLECTIONS_MAX_PATTERN_LENGTH
    )
    created_after = serializers.DateTimeField(required=False, help_text="Or a date.")
    created_before = serializers.DateTimeField(required=False, help_text="Or a date.")
    updated_after = serializers.DateTimeField(required=False, help_text="Or a date.")
    updated_before = serializers.DateTimeField(required=False, help_text="Or a date.")


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(CollectionsErrorSerializer, description=description)


def _errors(version: str, *codes: int) -> dict[int, OpenApiResponse]:
    described = {
        400: "BAD_REQUEST (a query parameter), PARSE_ERROR (the body), INVALID_ID (v2 "
        "project_id), UNSUPPORTED_API_VERSION.",
        401: "UNAUTHENTICATED: missing, malformed, unknown, revoked or expired token.",
        403: "FORBIDDEN: your role in the project does not allow this operation.",
        404: "NOT_FOUND: no such collection or route, or one outside your projects.",
        409: "AMBIGUOUS_COLLECTION: the name exists in several of your projects; use v2.",
        413: "PAYLOAD_TOO_LARGE: body over COLLECTIONS_MAX_BODY_BYTES.",
        415: "UNSUPPORTED_MEDIA_TYPE: send Content-Type: application/json.",
        422: "MISSING_FIELD, VALIDATION_ERROR (with `index` for a bulk element), TOO_MANY_ITEMS, "
        "DUPLICATE_KEY.",
        429: "THROTTLED; see Retry-After.",
    }
    ambiguous = (409,) if version == "1" else ()  # v2 names the project: never ambiguous
    return {code: _error(described[code]) for code in (400, 401, 403, 404, *ambiguous, 429, *codes)}


def _version_header(version: str) -> OpenApiParameter:
    if version == "2":
        return OpenApiParameter(
            "x-api-version",
            str,
            OpenApiParameter.HEADER,
            required=True,
            enum=["2"],
            description="Selects API v2: the project is named in the path.",
        )
    return OpenApiParameter(
        "x-api-version",
        str,
        OpenApiParameter.HEADER,
        enum=["1"],
        description='Missing or "1": API v1 (the name is looked up among your projects).',
    )


def _path_parameters(version: str, *, with_key: bool) -> list[OpenApiParameter]:
    parameters = [
        OpenApiParameter(
            "name",
            str,
            OpenApiParameter.PATH,
            pattern=NAME_PATTERN,
            description="The collection's name.",
        )
    ]
    if version == "2":
        parameters.insert(
            0, OpenApiParameter("project_id", OpenApiTypes.UUID, OpenApiParameter.PATH)
        )
    if with_key:
        parameters.append(
            OpenApiParameter(
                "key",
                str,
                OpenApiParameter.PATH,
                pattern=r"^[^/]+$",
                description=f"One path segment, percent-encoded; 1-{KEY_MAX_LENGTH} characters.",
            )
        )
    if version == "1":
        parameters.append(
            OpenApiParameter(
                "Deprecation",
                str,
                OpenApiParameter.HEADER,
                response=True,
                enum=["true"],
                description="Every v1 answer: new clients should use v2.",
            )
        )
    return [_version_header(version), *parameters]


_FILTERS = [
    OpenApiParameter(
        "key",
        {"type": "string", "minLength": 1, "maxLength": settings.COLLECTIONS_MAX_PATTERN_LENGTH},
        description="Key pattern: `*` any run, `\\*` a star, `\\\\` a backslash.",
    ),
    *(
        OpenApiParameter(
            name,
            OpenApiTypes.DATETIME,
            description="An ISO-8601 date-time (UTC without an offset) or a date (midnight UTC).",
        )
        for name in FILTER_PARAMS[1:]
    ),
]
_STREAM = [
    OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": settings.COLLECTIONS_MAX_LIMIT},
        description="Items per answer (default COLLECTIONS_DEFAULT_LIMIT).",
    ),
    OpenApiParameter("cursor", str, description="The `cursor` of the previous answer."),
]


def _collection_view(version: str) -> type[CollectionsDataView]:
    path = _path_parameters(version, with_key=False)

    @extend_schema_view(
        get=extend_schema(
            operation_id=f"collections_v{version}_stream",
            summary="Stream items",
            description="Items in id order, streamed; all validation happens before the first "
            "byte. A body that ends without `]}` is a failed stream.",
            parameters=[*path, *_FILTERS, *_STREAM],
            responses={200: CollectionStreamSerializer, **_errors(version)},
            tags=[TAG],
        ),
        post=extend_schema(
            operation_id=f"collections_v{version}_bulk_upsert",
            summary="Insert or replace many items",
            parameters=path,
            request=BulkUpsertSerializer,
            responses={200: UpsertResultSerializer, **_errors(version, 413, 415, 422)},
            tags=[TAG],
        ),
        delete=extend_schema(
            operation_id=f"collections_v{version}_delete_many",
            summary="Delete the items matching the filters (all without filters)",
            parameters=[*path, *_FILTERS],
            request=DeleteFilterSerializer,
            responses={200: DeleteResultSerializer, **_errors(version, 413, 415)},
            tags=[TAG],
        ),
    )
    class DocumentedCollection(CollectionsDataView):
        versioning_class = None  # type: ignore[assignment]  # a header parameter of each document
        http_method_names = ["get", "post", "delete"]

    return DocumentedCollection


def _item_view(version: str) -> type[CollectionsDataView]:
    path = _path_parameters(version, with_key=True)

    @extend_schema_view(
        get=extend_schema(
            operation_id=f"collections_v{version}_get_item",
            summary="Get one item",
            parameters=path,
            responses={
                200: CollectionItemSerializer,
                204: OpenApiResponse(description="No item with this key (empty body)."),
                **_errors(version),
            },
            tags=[TAG],
        ),
        put=extend_schema(
            operation_id=f"collections_v{version}_put_item",
            summary="Insert or replace one item",
            parameters=path,
            request=PutItemSerializer,
            responses={200: UpsertResultSerializer, **_errors(version, 413, 415, 422)},
            tags=[TAG],
        ),
        delete=extend_schema(
            operation_id=f"collections_v{version}_delete_item",
            summary="Delete one item",
            parameters=path,
            request=None,
            responses={200: DeleteResultSerializer, **_errors(version)},
            tags=[TAG],
        ),
    )
    class DocumentedItem(CollectionsDataView):
        versioning_class = None  # type: ignore[assignment]
        http_method_names = ["get", "put", "delete"]

    return DocumentedItem


def _endpoints(version: str) -> list[tuple[str, str, str, Any]]:
    """(path, path_regex, method, callback) of one version, as drf-spectacular enumerates them."""
    prefix = "/collections/{project_id}" if version == "2" else "/collections"
    regex_prefix = r"^collections/(?P<project_id>[^/]+)" if version == "2" else r"^collections"
    routes = [
        (f"{prefix}/{{name}}", rf"{regex_prefix}/(?P<name>[^/]+)$", _collection_view(version)),
        (
            f"{prefix}/{{name}}/{{key}}",
            rf"{regex_prefix}/(?P<name>[^/]+)/(?P<key>[^/]+)$",
            _item_view(version),
        ),
    ]
    found = []
    for path, regex, view in routes:
        callback = view.as_view()
        found += [(path, regex, method.upper(), callback) for method in view.http_method_names]
    return found


def with_collections_v2(endpoints: list[tuple[Any, ...]], **kwargs: Any) -> list[tuple[Any, ...]]:
    """Preprocessing hook of /api/schema/: add the data API v2."""
    return [*endpoints, *_endpoints("2")]


def only_collections_v1(endpoints: list[tuple[Any, ...]], **kwargs: Any) -> list[tuple[Any, ...]]:
    """Preprocessing hook of /api/schema/collections-v1/: the data API v1 alone."""
    return _endpoints("1")


# Settings of the v1 document (skriptoteket/urls.py; `manage.py spectacular --custom-settings
# apps.kvcollections.api.schema.V1_SCHEMA_SETTINGS`).
V1_SCHEMA_SETTINGS = {
    "TITLE": "Skriptoteket collections data API, v1 (deprecated)",
    "DESCRIPTION": (
        "The /collections/ data API as OpenFn Lightning v1 clients call it: the collection is "
        "looked up by name among your projects (409 AMBIGUOUS_COLLECTION when several match). "
        "Every answer carries `Deprecation: true`; new clients use v2, in /api/schema/. Errors "
        "are flat `{error, code}` bodies; see docs/api.md."
    ),
    "PREPROCESSING_HOOKS": ["apps.kvcollections.api.schema.only_collections_v1"],
}
