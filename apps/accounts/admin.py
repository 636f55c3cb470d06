import copy
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from apps.accounts import access, services, sign_in_limits
from apps.accounts.access import authenticated_user
from apps.accounts.models import ApiToken, Role, User


class UserCreateForm(UserCreationForm[User]):
    class Meta:
        model = User
        fields = ("email", "full_name", "role")


class UserEditForm(UserChangeForm[User]):
    class Meta:
        model = User
        fields = ("email", "full_name", "role", "is_active")


class UserPasswordForm(AdminPasswordChangeForm):  # type: ignore[type-arg]  # not generic at run time
    """The admin's password form, saved through the service as `actor`.

    UserAdmin makes a subclass per request with `actor` set; without one, saving fails.
    """

    actor: User

    def save(self, commit: bool = True) -> User:
        password = (
            self.cleaned_data["password1"] if self.cleaned_data["set_usable_password"] else None
        )
        user = services.set_user_password(actor=self.actor, user=self.user, password=password)
        # The admin refreshes the session of someone who changed their own password from this.
        self.user.password = user.password
        return user


# The fields of UserEditForm that services.update_user takes.
EDITABLE_FIELDS = ("email", "full_name", "role", "is_active")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):  # type: ignore[type-arg]  # stubs want an AbstractUser
    """Every change goes through the accounts services, which decide who may manage whom
    (`access.may_manage_account`); the pages only offer what the signed-in admin may do."""

    form = UserEditForm
    add_form = UserCreateForm
    change_password_form = UserPasswordForm
    ordering = ("email",)
    list_display = ("email", "full_name", "role", "is_active", "last_login", "date_joined")
    list_filter = ("role", "is_active")
    search_fields = ("email", "full_name")
    readonly_fields = ("last_login", "date_joined", "is_staff", "is_superuser")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("full_name",)}),
        ("Access", {"fields": ("role", "is_active", "is_staff", "is_superuser")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "full_name", "role", "password1", "password2"),
            },
        ),
    )
    filter_horizontal = ()
    actions = ("unlock_sign_in",)

    # An account the admin may not manage opens read-only; posting to it, its password form or
    # its delete page is a 403.
    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        if obj is not None and not self._may_manage(request, obj):
            return False
        return bool(super().has_change_permission(request, obj))

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        if obj is not None and not self._may_manage(request, obj):
            return False
        return bool(super().has_delete_permission(request, obj))

    def get_form(
        self, request: HttpRequest, obj: User | None = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm[User]]:
        form: type[forms.ModelForm[User]] = super().get_form(request, obj, change=change, **kwargs)
        role = form.base_fields.get("role")
        if isinstance(role, forms.ChoiceField):  # absent when the page is read-only
            allowed = access.assignable_roles(actor=authenticated_user(request))
            role.choices = [(value, label) for value, label in Role.choices if value in allowed]
        return form

    def save_model(
        self, request: HttpRequest, obj: User, form: forms.ModelForm[User], change: bool
    ) -> None:
        actor = authenticated_user(request)
        data = form.cleaned_data
        if change:
            fields = {name: data[name] for name in EDITABLE_FIELDS if name in data}
            services.update_user(actor=actor, user=obj, **fields)
            return
        created = services.create_user(
            actor=actor,
            email=data["email"],
            password=data.get("password1") or None,
            role=data["role"],
            full_name=data.get("full_name", ""),
        )
        # The admin goes on with `obj` (log entry, redirect): make it the row just created.
        obj.pk = created.pk
        obj._state.adding = False
        obj.refresh_from_db()

    def user_change_password(
        self,
        request: HttpRequest,
        id: str,  # noqa: A002 - Django's URL passes it by this name
        form_url: str = "",
    ) -> HttpResponse:
        # Django builds the form as `self.change_password_form(user, data)`, without the
        # request: give this request its own copy of the admin, whose form knows the actor.
        acting = authenticated_user(request)

        class PasswordForm(UserPasswordForm):
            actor = acting

        admin_for_request = copy.copy(self)
        admin_for_request.change_password_form = PasswordForm
        return DjangoUserAdmin.user_change_password(admin_for_request, request, id, form_url)

    @admin.action(description="Unlock sign-in (forget failed sign-ins)")
    def unlock_sign_in(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        users = list(queryset)
        for user in users:
            sign_in_limits.unlock(email=user.email)
        self.message_user(
            request, f"Sign-in unlocked for {len(users)} account(s).", messages.SUCCESS
        )

    def _may_manage(self, request: HttpRequest, user: User) -> bool:
        return access.may_manage_account(actor=authenticated_user(request), user=user)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    list_display = (
        "prefix",
        "name",
        "user",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    list_filter = (
        ("revoked_at", admin.EmptyFieldListFilter),
        ("expires_at", admin.EmptyFieldListFilter),
    )
    list_select_related = ("user",)
    search_fields = ("name", "prefix", "user__email")
    readonly_fields = (
        "user",
        "name",
        "prefix",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    exclude = ("token_hash",)
    actions = ("revoke_tokens",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # secrets are minted by the user (token page, API) or create_api_token

    def has_change_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False

    @admin.action(description="Revoke selected tokens", permissions=["delete"])
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        tokens = list(queryset.filter(revoked_at__isnull=True))
        for token in tokens:
            services.revoke_api_token(token=token)
        self.message_user(request, f"Revoked {len(tokens)} token(s).", messages.SUCCESS)
