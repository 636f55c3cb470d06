import math
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from apps.accounts import services, sign_in_limits
from apps.accounts.access import authenticated_user
from apps.accounts.forms import ApiTokenForm
from apps.accounts.models import ApiToken, TokenKind


@login_required
@never_cache  # the response may carry a new secret: never store it in a browser cache
def token_list(request: HttpRequest) -> HttpResponse:
    """List the user's tokens and mint new ones; a new secret is shown on this response only."""
    form = ApiTokenForm(request.POST or None)
    new_secret = None
    if request.method == "POST" and form.is_valid():
        _, new_secret = services.create_api_token(
            user=authenticated_user(request),
            name=form.cleaned_data["name"],
            expires_in_days=form.cleaned_data["expires_in_days"],
        )
        form = ApiTokenForm()
    tokens = ApiToken.objects.filter(
        user=authenticated_user(request), kind=TokenKind.PERSONAL
    ).order_by("-created_at", "-id")
    now = timezone.now()
    rows = [{"token": token, "usable": token.is_usable(now)} for token in tokens]
    return render(
        request,
        "accounts/token_list.html",
        {"form": form, "rows": rows, "new_secret": new_secret},
    )


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = ApiToken.objects.filter(
        user=authenticated_user(request), kind=TokenKind.PERSONAL, pk=token_id
    ).first()
    if token is None:
        raise Http404("Token not found.")
    services.revoke_api_token(token=token)
    messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("accounts:token-list")


def sign_in_locked(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """The answer to a sign-in refused by the sign-in limits (`AXES_LOCKOUT_CALLABLE`).

    The same page for an account that exists and one that does not, and it does not say
    whether the account or the address is locked.
    """
    email = (credentials or {}).get("username") or request.POST.get("username", "")
    lock = sign_in_limits.current_lock(
        email=sign_in_limits.normalize_email(email),
        address=sign_in_limits.client_address(request),
    )
    retry_after = lock.retry_after_seconds if lock else settings.SIGN_IN_COOLOFF_SECONDS
    on_admin = request.path.startswith(reverse("admin:index"))
    template = "admin/sign_in_locked.html" if on_admin else "registration/sign_in_locked.html"
    context = {"retry_minutes": math.ceil(retry_after / 60), "title": "Sign-in paused"}
    response = render(request, template, context, status=429)
    response["Retry-After"] = str(retry_after)
    return response
