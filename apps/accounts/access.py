from django.http import HttpRequest
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request

from apps.accounts.models import STAFF_ROLES, Role, User


def authenticated_user(request: HttpRequest | Request) -> User:
    """The signed-in user of a request that authentication already let through.

    :raises NotAuthenticated: anonymous request (a view forgot its login requirement)
    """
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise NotAuthenticated()
    return user


# Who may manage accounts. `actor=None` is the operator at the command line (createuser,
# seed_demo), who could open a database shell anyway. A global admin manages user and
# contributor accounts; admin and superuser accounts, and the roles that make one, are for
# superusers only, so an admin can never raise their own rights or lock a superuser out.


def may_manage_account(*, actor: User | None, user: User) -> bool:
    """Whether `actor` may change `user`'s account: profile, active flag, password, role."""
    if actor is None or actor.role == Role.SUPERUSER:
        return True
    return actor.role == Role.ADMIN and user.role not in STAFF_ROLES


def assignable_roles(*, actor: User | None) -> list[str]:
    """The global roles `actor` may give to, or take away from, an account they manage."""
    if actor is None or actor.role == Role.SUPERUSER:
        return list(Role.values)
    if actor.role == Role.ADMIN:
        return [Role.USER, Role.CONTRIBUTOR]
    return []
