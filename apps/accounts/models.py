import hashlib
from datetime import datetime
from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from apps.core.models import TimeStampedModel


class Role(models.TextChoices):
    """Global roles, in increasing order of power."""

    USER = "user", "User"
    CONTRIBUTOR = "contributor", "Contributor"
    ADMIN = "admin", "Admin"
    SUPERUSER = "superuser", "Superuser"


ROLE_RANK: dict[str, int] = {role.value: rank for rank, role in enumerate(Role)}
STAFF_ROLES = (Role.ADMIN, Role.SUPERUSER)


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> "User":
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> "User":
        extra.pop("is_staff", None)
        extra.pop("is_superuser", None)
        return self.create_user(email, password, role=Role.SUPERUSER, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with an email address.

    `is_staff` and `is_superuser` are derived from `role` on every save and checked by constraints,
    so the Django admin's flags can never disagree with the global role.
    """

    email = models.EmailField(max_length=254, unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.USER)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, editable=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
            models.CheckConstraint(
                condition=models.Q(is_staff=True, role__in=STAFF_ROLES)
                | (models.Q(is_staff=False) & ~models.Q(role__in=STAFF_ROLES)),
                name="accounts_user_staff_matches_role",
            ),
            models.CheckConstraint(
                condition=models.Q(is_superuser=True, role=Role.SUPERUSER)
                | (models.Q(is_superuser=False) & ~models.Q(role=Role.SUPERUSER)),
                name="accounts_user_superuser_matches_role",
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="accounts_user_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.email

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.email = self.email.lower()
        self.is_staff = self.role in STAFF_ROLES
        self.is_superuser = self.role == Role.SUPERUSER
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "role" in update_fields:
            kwargs["update_fields"] = {*update_fields, "is_staff", "is_superuser"}
        super().save(*args, **kwargs)

    def has_role(self, minimum: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[minimum]

    # Global admins run the Django admin: every model-level permission, like superusers. Object
    # permissions (project roles, maintainers) still go through guardian and the access modules.
    def has_perm(self, perm: str, obj: Any = None) -> bool:
        if obj is None and self.is_active and self.role == Role.ADMIN:
            return True
        return super().has_perm(perm, obj)

    def has_module_perms(self, app_label: str) -> bool:
        if self.is_active and self.role == Role.ADMIN:
            return True
        return super().has_module_perms(app_label)


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenKind(models.TextChoices):
    PERSONAL = "personal", "Personal access token"
    # Minted by the runs app for one tool run; acts with the rights of that run's project on the
    # collections API only, and is revoked when the run finishes.
    RUN = "run", "Run token"


class ApiToken(TimeStampedModel):
    """A bearer credential. Only the SHA-256 of the secret is stored; the secret is shown once."""

    kind = models.CharField(max_length=16, choices=TokenKind.choices, default=TokenKind.PERSONAL)
    # Personal tokens act as this user; run tokens record who started the run.
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    # Run tokens only: the one project whose collections the token may use.
    project = models.ForeignKey(
        "projects.Project",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="run_tokens",
    )
    # Run tokens only: the run it was minted for (the runs app links it).
    run_id = models.UUIDField(null=True, blank=True)
    # Run tokens only: the project role (a projects.ProjectRole value) of the person who started
    # the run, read when the run started. The token may do on collections what that role may,
    # and no more; blank = not a member, so no item rights at all.
    project_role = models.CharField(max_length=16, blank=True, default="")
    name = models.CharField(max_length=100)
    # Used by authentication: one indexed lookup per request.
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    # The first characters of the secret, so people can tell their tokens apart in lists.
    prefix = models.CharField(max_length=20, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API token"
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(
                    kind=TokenKind.PERSONAL,
                    project__isnull=True,
                    run_id__isnull=True,
                    project_role="",
                )
                | models.Q(kind=TokenKind.RUN, project__isnull=False, expires_at__isnull=False),
                name="accounts_token_scope_matches_kind",
            ),
        ]
        indexes: ClassVar = [
            # Used by the token list page and GET /api/v1/tokens.
            models.Index(fields=["user", "-created_at"], name="accounts_token_user_created"),
        ]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"

    def is_usable(self, now: datetime) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > now
