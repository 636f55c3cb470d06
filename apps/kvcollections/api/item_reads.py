"""The data API's hottest request, a plain item read, answered ahead of the rest of the stack.

`ItemReadMiddleware` (apps/kvcollections/middleware.py) hands every GET under /collections/ to
`serve`. It answers only a read whose answer is a 200 or a 204: a live token, a name that
resolves to exactly one collection the caller may read, no query string, an Accept that takes
JSON, and a throttle that admits the request. It runs the statement, checks and throttle count of
CollectionsDataView and builds the view's response, without the session, CSRF, authentication
and messages middleware and DRF's dispatch that such a request does not need (a third of its
Python time; bench/collections_item_get.py).

For anything else it returns None and the request goes down the stack as before, where the view
answers it: every error is decided in one place. The view reuses what the statement read and the
throttle's count, so such a request still costs one statement and is counted once.
"""

from typing import Any

from django.http import HttpRequest, HttpResponse

from apps.accounts.api.authentication import BEARER, CollectionsTokenAuthentication
from apps.accounts.models import hash_token
from apps.core.api import throttling
from apps.core.api.renderers import JSONRenderer
from apps.core.exceptions import DomainError
from apps.kvcollections import access, queries
from apps.kvcollections.access import ItemRead, Operation
from apps.kvcollections.api.data import READ_BY_ITEM_READS, CollectionsDataView, item_lookup

PREFIX = "/collections/"
_KINDS = CollectionsTokenAuthentication.kinds
# Token hash -> user id (see `_remember`), per process: 10,000 tokens take about 2 MB.
_USER_OF_TOKEN: dict[str, str] = {}
_REMEMBERED_TOKENS = 10_000
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
    secret = match.group(1)
    token_hash = hash_token(secret)
    known_user = _USER_OF_TOKEN.get(token_hash)
    with throttling.counting(request, scope="user", ident=known_user) as count:
        credential, read = access.read_item(secret=secret, kinds=_KINDS, **lookup)
        setattr(request, READ_BY_ITEM_READS, (credential, read))  # if the view must answer
        if credential is None or read is None or not _may_read(read):
            return None
        user_id = str(credential.user.pk)
        _remember(token_hash, user_id)
        if count(user_id) is not None:
            return None
    request.user = credential.user  # for the access log line
    return _response(read.item, version_1=lookup["project_id"] is None)


def _may_read(read: ItemRead) -> bool:
    try:
        read.access().authorize(Operation.READ)
    except DomainError:
        return False
    return True


def _remember(token_hash: str, user_id: str) -> None:
    """Which user a token belongs to never changes, so a process may remember it: the next read
    with that token sends its throttle count before the statement instead of after it. Whether
    the token is still good is decided by the statement every time."""
    if len(_USER_OF_TOKEN) >= _REMEMBERED_TOKENS:
        _USER_OF_TOKEN.clear()
    _USER_OF_TOKEN[token_hash] = user_id


def _response(item: tuple[Any, ...] | None, *, version_1: bool) -> HttpResponse:
    """The view's answer: the item, or 204 when the collection has no such key."""
    if item is None:
        response = HttpResponse(status=204)
        del response["Content-Type"]  # as DRF: no body, no type
    else:
        body = JSONRenderer().render(queries.items_json([item])[0])
        response = HttpResponse(body, content_type=JSONRenderer.media_type)
    response["Allow"] = ALLOW
    response["Content-Length"] = str(len(response.content))
    if version_1:
        response["Deprecation"] = "true"  # as the view answers v1 (whose paths name no project)
    return response
