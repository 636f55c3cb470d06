import re
from typing import Any, Protocol, runtime_checkable

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from apps.accounts import services
from apps.accounts.models import TokenKind, User

# Exactly one "Bearer <token>"; a second Authorization header arrives comma-joined and fails.
BEARER = re.compile(r"^[Bb]earer (skt_[a-z]{3}_[A-Za-z0-9_-]{20,100})$")


@runtime_checkable
class TokenReadView(Protocol):
    """A view whose hot read can run in the same SQL statement as the token check.

    BearerTokenAuthentication hands such a view the secret instead of checking it alone; the
    view answers exactly what `services.authenticate_api_token` would (it builds its statement on
    `services.AUTH_CTE` and reads the credential with `services.credential_from_row`) and keeps
    what it read for its handler. Everything after authentication (permissions, version,
    throttle, the handler's checks) runs as for any view, so no status or error changes. The read
    itself runs before the throttle decides (the throttle counts per user, so after the token
    check): fold in reads only, never writes.
    """

    def authenticate_and_read(
        self, *, secret: str, kinds: frozenset[str]
    ) -> services.TokenCredential | None: ...


class BearerTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer skt_pat_...`; any other Authorization header is a 401.

    Only personal tokens by default; run tokens are for the collections API alone.
    """

    keyword = "Bearer"
    kinds = frozenset({TokenKind.PERSONAL})

    def authenticate(self, request: Request) -> tuple[User, services.TokenCredential] | None:
        header: Any = request.META.get("HTTP_AUTHORIZATION")
        if header is None:
            return None  # the next class (session) may still authenticate the request
        match = BEARER.match(header) if isinstance(header, str) else None
        if match is None:
            raise AuthenticationFailed("Malformed Authorization header; expected 'Bearer <token>'.")
        view = (request.parser_context or {}).get("view")
        if isinstance(view, TokenReadView):
            credential = view.authenticate_and_read(secret=match.group(1), kinds=self.kinds)
        else:
            credential = services.authenticate_api_token(secret=match.group(1), kinds=self.kinds)
        if credential is None:
            raise AuthenticationFailed("Invalid, revoked or expired token.")
        return credential.user, credential

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'


class CollectionsTokenAuthentication(BearerTokenAuthentication):
    """Personal tokens and run tokens (`skt_run_...`, scoped to one project)."""

    kinds = frozenset({TokenKind.PERSONAL, TokenKind.RUN})


class BearerTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """Describes BearerTokenAuthentication in the OpenAPI schema."""

    target_class = BearerTokenAuthentication
    name = "BearerToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal access token (skt_pat_...) from /accounts/tokens/ "
            "or POST /api/v1/tokens.",
        }


class CollectionsTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """Describes CollectionsTokenAuthentication (the /collections/ data API)."""

    target_class = CollectionsTokenAuthentication
    name = "CollectionsToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal access token (skt_pat_...) or the run token (skt_run_...) "
            "a tool run is given for its own project's collections.",
        }
