"""Draft locks in the admin: read-only lists, plus the two overrides staff need ("Force release"
and "Take over"), each confirmed on a page that asks for a reason and done by a locks service."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet
from django.db.models.functions import Now
from django.http import HttpRequest
from django.template.response import TemplateResponse

from apps.accounts.access import authenticated_user
from apps.accounts.models import User
from apps.core.admin import ServiceOwnedAdmin
from apps.core.exceptions import DomainError
from apps.locks import services
from apps.locks.models import DraftLock, DraftLockEvent

LockOperation = Callable[[DraftLock, User, str], str]


class LockStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("live", "Live"), ("expired", "Expired"), ("free", "Free")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "live":
            return queryset.filter(holder__isnull=False, expires_at__gt=Now())
        if self.value() == "expired":
            return queryset.filter(holder__isnull=False, expires_at__lte=Now())
        if self.value() == "free":
            return queryset.filter(holder__isnull=True)
        return queryset


class ReasonForm(forms.Form):
    required_css_class = "required"

    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=1000,
        help_text="Recorded in the lock's audit trail (draft lock events).",
    )


# Action name -> (title, what confirming does), for the reason page.
OVERRIDES = {
    "force_release": (
        "Force release",
        "The selected locks become free. Their holders find out at their next save or heartbeat"
        " and have to acquire the lock again.",
    ),
    "take_over": (
        "Take over",
        "You become the holder of the selected locks, with a new token. Their holders find out"
        " at their next save or heartbeat, and their editor turns read-only.",
    ),
}


@admin.register(DraftLock)
class DraftLockAdmin(ServiceOwnedAdmin[DraftLock]):
    """The lock rows. Live/expired is decided by the database clock, as the services decide it."""

    list_display = (
        "tool",
        "draft_head",
        "holder",
        "expires_at",
        "state",
        "token",
        "forced_by",
    )
    list_filter = (LockStateFilter,)
    list_select_related = ("tool", "draft_head", "holder", "forced_by")
    search_fields = ("tool__title", "tool__slug", "holder__email")
    ordering = ("-expires_at",)
    actions = ("force_release", "take_over")
    reason_template = "admin/locks/draftlock/reason.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[DraftLock]:
        live = Q(holder__isnull=False, expires_at__gt=Now())
        return (
            super()
            .get_queryset(request)
            .annotate(is_live=ExpressionWrapper(live, output_field=BooleanField()))
        )

    @admin.display(description="state", ordering="is_live")
    def state(self, lock: DraftLock) -> str:
        if lock.holder_id is None:
            return "free"
        return "live" if getattr(lock, "is_live", False) else "expired"

    def release_lock(self, lock: DraftLock, actor: User, reason: str) -> str:
        """Release `lock` as `actor`; return what happened. :raises DomainError:"""
        holder = lock.holder
        services.release_as_admin(tool_id=lock.tool_id, actor_id=actor.pk, reason=reason)
        return f"released the lock held by {holder}." if holder else "the lock was already free."

    def take_over_lock(self, lock: DraftLock, actor: User, reason: str) -> str:
        """Make `actor` the holder of `lock`; return what happened. :raises DomainError:"""
        state = services.take_over_as_admin(tool_id=lock.tool_id, actor_id=actor.pk, reason=reason)
        return f"you hold the lock now (token {state.token})."

    @admin.action(description=OVERRIDES["force_release"][0], permissions=["override"])
    def force_release(
        self, request: HttpRequest, queryset: QuerySet[DraftLock]
    ) -> TemplateResponse | None:
        return self._with_reason(request, queryset, "force_release", self.release_lock)

    @admin.action(description=OVERRIDES["take_over"][0], permissions=["override"])
    def take_over(
        self, request: HttpRequest, queryset: QuerySet[DraftLock]
    ) -> TemplateResponse | None:
        return self._with_reason(request, queryset, "take_over", self.take_over_lock)

    def _with_reason(
        self,
        request: HttpRequest,
        queryset: QuerySet[DraftLock],
        action: str,
        operation: LockOperation,
    ) -> TemplateResponse | None:
        """Show the reason page until it is confirmed with a reason, then apply `operation`."""
        form = ReasonForm(request.POST if "confirm" in request.POST else None)
        if not form.is_valid():
            return self._reason_page(request, queryset, action, form)
        actor = authenticated_user(request)
        for lock in queryset:
            try:
                outcome = operation(lock, actor, form.cleaned_data["reason"])
            except DomainError as exc:
                self.message_user(request, f"{lock.tool}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{lock.tool}: {outcome}", messages.SUCCESS)
        return None

    def _reason_page(
        self, request: HttpRequest, queryset: QuerySet[DraftLock], action: str, form: ReasonForm
    ) -> TemplateResponse:
        description, explanation = OVERRIDES[action]
        locks = [
            {
                "pk": str(lock.pk),
                "tool": str(lock.tool),
                "holder": str(lock.holder) if lock.holder else "nobody",
                "expires_at": lock.expires_at,
                "state": self.state(lock),
                "token": lock.token,
            }
            for lock in queryset
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": f"{description}: give a reason",
            "subtitle": None,
            "opts": self.opts,
            "action": action,
            "action_description": description,
            "explanation": explanation,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "locks": locks,
            "form": form,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.reason_template, context)


@admin.register(DraftLockEvent)
class DraftLockEventAdmin(ServiceOwnedAdmin[DraftLockEvent]):
    """The append-only audit trail of every lock change."""

    list_display = (
        "created_at",
        "action",
        "tool",
        "draft_head",
        "actor",
        "previous_holder",
        "previous_expires_at",
        "token",
        "reason",
    )
    list_filter = ("action", "tool")
    list_select_related = ("tool", "draft_head", "actor", "previous_holder")
    search_fields = ("tool__title", "tool__slug", "actor__email", "reason", "request_id")
    ordering = ("-created_at", "-id")
    # The table only grows; skip the extra COUNT(*) over all of it on every page.
    show_full_result_count = False
