from django.http import HttpRequest
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request

from apps.accounts.models import User


def authenticated_user(request: HttpRequest | Request) -> User:
    """The signed-in user of a request that authentication already let through.

    :raises NotAuthenticated: anonymous request (a view forgot its login requirement)
    """
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise NotAuthenticated()
    return user
