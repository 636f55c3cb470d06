"""The data API's hottest request, a plain item read, answered ahead of the rest of the stack.

`ItemReadMiddleware` (apps/kvcollections/middleware.py) hands every GET under /collections/ to
`serve`. It answers only a read whose answer is a 200 or a 204: a live token, a name that
resolves to exactly one collection the caller may read, no query string, an Accept that takes
JSON, and a throttle that admits the request. It runs the statement, checks and throttle count of
CollectionsDataView and builds the view's response, without the session, CSRF, authentication
and messages middleware and DRF's dispatch that such a request does not need (about half of the
request's cost; bench/collections_item_get.py).

For anything else it returns None and the request goes down the stack as before, where the view
answers it: every error is decided in one place. The view reuses what the statement read, so such
a request still costs one statement. A throttled request is counted twice, which only matters to
a caller already over its rate.
"""

from django.http import HttpRequest, HttpResponse

from apps.accounts.api.authentication import BEARER, CollectionsTokenAuthentication
from apps.core.api import throttling
from apps.core.api.renderers import JSONRenderer
from apps.core.exceptions import DomainError
from apps.kvcollections import access, queries
from apps.kvcollections.access import Operation
from apps.kvcollections.api.data import READ_BY_ITEM_READS, CollectionsDataView, item_lookup

PREFIX = "/collections/"
# Accept headers whose answer is the JSON renderer's without negotiating (others: the view).
_JSON_ACCEPTS = frozenset({None, "", "*/*", "application/json"})
# DRF's Allow header for the view: its methods in `http_method_names` order, HEAD included.
ALLOW = ", ".join(
    method.upper()
    for method in CollectionsDataView.http_method_names
    if method == "head" or hasattr(CollectionsDataView, method)
)


def serve(request: HttpRequest) -> HttpResponse | None:
    """The response to a plain item read (GET under PREFIX); None for any other request."""
    meta = request.META
    header = meta.get("HTTP_AUTHORIZATION")
    if meta.get("QUERY_STRING") or meta.get("HTTP_ACCEPT") not in _JSON_ACCEPTS:
        return None
    match = BEARER.match(header) if isinstance(header, str) else None
    lookup = item_lookup(request, request.path_info[len(PREFIX) :]) if match else None
    if match is None or lookup is None:
        return None
    kinds = CollectionsTokenAuthentication.kinds
    credential, read = access.read_item(secret=match.group(1), kinds=kinds, **lookup)
    setattr(request, READ_BY_ITEM_READS, (credential, read))  # if the view must answer
    if credential is None or read is None:
        return None
    try:
        read.access().authorize(Operation.READ)
    except DomainError:
        return None
    if throttling.count_request(scope="user", ident=str(credential.user.pk)) is not None:
        return None
    request.user = credential.user  # for the access log line
    if read.item is None:
        response = HttpResponse(status=204)
        del response["Content-Type"]  # as DRF: no body, no type
    else:
        body = JSONRenderer().render(queries.items_json([read.item])[0])
        response = HttpResponse(body, content_type=JSONRenderer.media_type)
    response["Allow"] = ALLOW
    response["Content-Length"] = str(len(response.content))
    if lookup["project_id"] is None:
        response["Deprecation"] = "true"  # a v1 read (v1 paths name no project), as the view
    return response
