"""Who may reach which collection. The only door from a request to a Collection row.

Resolution happens within the caller's scope only (a run token: its project; a person: the live
projects they are a member of), so no answer ever reveals a collection outside that scope.
"""

import enum
import uuid
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser, Permission
from django.db.models import QuerySet

from apps.accounts.models import TokenKind, User, hash_token
from apps.accounts.services import (
    AUTH_COLUMN_COUNT,
    AUTH_COLUMNS,
    AUTH_CTE,
    TokenCredential,
    credential_from_row,
)
from apps.core.db import fast_cursor
from apps.core.identifiers import parse_uuid
from apps.kvcollections.exceptions import (
    AmbiguousCollection,
    CollectionNotFound,
    CollectionRoleRequired,
)
from apps.kvcollections.models import Collection, CollectionItem
from apps.projects import access as projects_access
from apps.projects.models import ROLE_BY_CODENAME, Project, ProjectMembership, ProjectRole


@dataclass(frozen=True)
class Caller:
    user: User
    # Set when the request came with a run token: the one project it may act on, and the role
    # of the person who started the run (None: not a member, so no item rights).
    run_project_id: uuid.UUID | None = None
    run_role: ProjectRole | None = None

    @classmethod
    def for_credential(cls, credential: TokenCredential) -> "Caller":
        """The caller a Bearer credential (personal or run token) stands for."""
        if credential.kind != TokenKind.RUN:
            return cls(user=credential.user)
        role = ProjectRole(credential.project_role) if credential.project_role else None
        return cls(user=credential.user, run_project_id=credential.project_id, run_role=role)


class Operation(enum.Enum):
    READ = ProjectRole.VIEWER
    WRITE = ProjectRole.EDITOR
    DELETE_ITEM = ProjectRole.EDITOR
    # Any DELETE on a whole collection path: pattern, filters or everything.
    DELETE_MANY = ProjectRole.ADMIN


@dataclass(frozen=True)
class CollectionAccess:
    collection: Collection
    # The caller's project role (for a run token: its requester's); None = no role at all.
    role: ProjectRole | None

    def authorize(self, operation: Operation) -> None:
        """:raises CollectionRoleRequired: the caller's role is below what `operation` needs"""
        if self.role is None or self.role.rank < operation.value.rank:
            raise CollectionRoleRequired(
                f"This operation needs the project role {operation.value.value} or higher.",
                details={
                    "required_role": operation.value.value,
                    "your_role": self.role.value if self.role else None,
                },
            )


_FIELDS = [field.attname for field in Collection._meta.concrete_fields]
_SELECT = (
    "SELECT {role}, {columns} FROM {collections} c JOIN {projects} p ON p.id = c.project_id".format(  # noqa: S608
        role="{role}",
        columns=", ".join(f"c.{field.column}" for field in Collection._meta.concrete_fields),
        collections=Collection._meta.db_table,
        projects=Project._meta.db_table,
    )
)
_MEMBER_JOIN = (
    f" JOIN {ProjectMembership._meta.db_table} m ON m.content_object_id = p.id AND m.user_id = %s"
    f" JOIN {Permission._meta.db_table} perm ON perm.id = m.permission_id"
)
# Used on every data API request; SQL because the ORM's query building costs more than the query.
_MEMBER_SQL = (
    _SELECT.format(role="perm.codename")
    + _MEMBER_JOIN
    + (
        " WHERE c.name = %s AND p.deletion_scheduled_at IS NULL"
        " AND (%s::uuid IS NULL OR c.project_id = %s)"
        " LIMIT 2"
    )
)
_RUN_SQL = _SELECT.format(role="NULL") + (
    " WHERE c.name = %s AND p.deletion_scheduled_at IS NULL AND c.project_id = %s LIMIT 2"
)


def resolve_collection(*, caller: Caller, name: str, project_id: str | None) -> CollectionAccess:
    """Find the collection `name` (v1: `project_id` None; v2: in that project) for `caller`.

    :raises BadRequest: `project_id` is not a UUID (INVALID_ID)
    :raises CollectionNotFound: nothing matches within the caller's scope
    :raises AmbiguousCollection: v1 name matches in more than one of the caller's projects
    """
    pk = parse_uuid(project_id, name="project_id") if project_id is not None else None
    if caller.run_project_id is not None:
        if pk is not None and pk != caller.run_project_id:
            raise CollectionNotFound()
        rows = _fetch(_RUN_SQL, [name, caller.run_project_id])
    else:
        rows = _fetch(_MEMBER_SQL, [caller.user.pk, name, pk, pk])
    return _access_from_rows(caller, rows)


def _access_from_rows(caller: Caller, rows: list[tuple[Any, ...]]) -> CollectionAccess:
    """The answer for the (role codename, collection columns...) rows a name matched."""
    if not rows:
        raise CollectionNotFound()
    if len(rows) > 1:
        raise AmbiguousCollection()
    codename, *values = rows[0]
    collection = Collection.from_db("default", _FIELDS, values)
    role = caller.run_role if caller.run_project_id is not None else ROLE_BY_CODENAME[codename]
    return CollectionAccess(collection=collection, role=role)


def _fetch(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with fast_cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


@dataclass(frozen=True)
class ItemRead:
    """What `read_item` found besides the credential: the caller's matches for the name and,
    when exactly one matched, the item's row (queries.ITEM_COLUMNS) or None."""

    caller: Caller
    matches: list[tuple[Any, ...]]
    item: tuple[Any, ...] | None

    def access(self) -> CollectionAccess:
        """:raises CollectionNotFound, AmbiguousCollection: as `resolve_collection`"""
        return _access_from_rows(self.caller, self.matches)


# queries.ITEM_COLUMNS (a sibling layer, so not imported): what queries.items_json reads.
_ITEM_COLUMNS = ("id", "key", "value", "created_at", "updated_at")
# The token check (AUTH_CTE), the name's resolution within the token's scope (the union of
# `_MEMBER_SQL` for personal tokens and `_RUN_SQL` for run tokens) and the item: one statement,
# so an item GET costs one round trip. No row: no live token. A row whose collection columns are
# NULL: the token is live, the name matches nothing.
_READ_ITEM_SQL = """
WITH {auth},
found AS (
    (SELECT perm.codename AS role_codename, {columns}
     FROM auth
     JOIN {memberships} m ON m.user_id = auth.id
     JOIN {permissions} perm ON perm.id = m.permission_id
     JOIN {projects} p ON p.id = m.content_object_id
     JOIN {collections} c ON c.project_id = p.id
     WHERE auth.token_kind <> %s AND c.name = %s AND p.deletion_scheduled_at IS NULL
       AND (%s::uuid IS NULL OR c.project_id = %s))
    UNION ALL
    (SELECT NULL, {columns}
     FROM auth
     JOIN {collections} c ON c.project_id = auth.token_project_id
     JOIN {projects} p ON p.id = c.project_id
     WHERE auth.token_kind = %s AND c.name = %s AND p.deletion_scheduled_at IS NULL
       AND (%s::uuid IS NULL OR c.project_id = %s))
    LIMIT 2
)
SELECT {auth_columns}, found.*, {item_columns}
FROM auth
LEFT JOIN found ON true
LEFT JOIN {items} i ON i.collection_id = found.id AND i.key = %s
""".format(  # noqa: S608 - names come from model metadata; values are bound parameters
    auth=AUTH_CTE,
    auth_columns=AUTH_COLUMNS,
    columns=", ".join(f"c.{field.column}" for field in Collection._meta.concrete_fields),
    item_columns=", ".join(f"i.{column}" for column in _ITEM_COLUMNS),
    memberships=ProjectMembership._meta.db_table,
    permissions=Permission._meta.db_table,
    projects=Project._meta.db_table,
    collections=Collection._meta.db_table,
    items=CollectionItem._meta.db_table,
)
_MATCH_END = AUTH_COLUMN_COUNT + 1 + len(_FIELDS)
_COLLECTION_ID = AUTH_COLUMN_COUNT + 1 + _FIELDS.index("id")


def read_item(
    *, secret: str, kinds: frozenset[str], name: str, project_id: uuid.UUID | None, key: str
) -> tuple[TokenCredential | None, ItemRead | None]:
    """Check a Bearer token, resolve `name` (v1: `project_id` None) within its scope and read
    `key` there, in one statement. The credential is None exactly when
    `authenticate_api_token` would answer None; the rest answers as `resolve_collection` and
    `queries.get_item` would, at the moment of the statement."""
    params: list[Any] = [hash_token(secret)]
    params += [TokenKind.RUN, name, project_id, project_id] * 2
    rows = _fetch(_READ_ITEM_SQL, [*params, key])
    credential = credential_from_row(rows[0] if rows else None, kinds=kinds)
    if credential is None:
        return None, None
    matches = [row[AUTH_COLUMN_COUNT:_MATCH_END] for row in rows if row[_COLLECTION_ID] is not None]
    item = rows[0][_MATCH_END:] if len(matches) == 1 and rows[0][_MATCH_END] is not None else None
    caller = Caller.for_credential(credential)
    return credential, ItemRead(caller=caller, matches=matches, item=item)


def collections_of(project: Project) -> QuerySet[Collection]:
    return Collection.objects.filter(project=project)


def get_collection_for_user(
    *, user: User | AnonymousUser, project_id: str, name: str, min_role: ProjectRole
) -> Collection:
    """A collection by project and name for the management API and pages; `collection.project`
    carries the caller's role.

    :raises BadRequest, ProjectNotFound, ProjectRoleRequired: see projects.access
    :raises CollectionNotFound:
    """
    project = projects_access.get_project_for_user(
        user=user, project_id=project_id, min_role=min_role
    )
    collection = collections_of(project).filter(name=name).first()
    if collection is None:
        raise CollectionNotFound("Collection not found.")
    collection.project = project
    return collection
