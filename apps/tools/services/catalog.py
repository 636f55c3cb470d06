"""Tool creation, metadata, slug, publishing and maintainers."""

import re
import uuid

import structlog
from django.db import transaction

from apps.accounts.models import Role, User
from apps.core.exceptions import ValidationFailed
from apps.projects.exceptions import ContributorRequired
from apps.projects.models import Project
from apps.tools import access
from apps.tools.exceptions import (
    AdminRequired,
    InvalidSlug,
    MaintainerRuleViolated,
    PublishRequirementsMissing,
    SuperuserRequired,
    WrongVersionState,
)
from apps.tools.models import (
    PLACEHOLDER_PREFIX,
    SLUG_PATTERN,
    Category,
    MaintainerChange,
    Profession,
    Tool,
    VersionState,
)

log = structlog.get_logger(__name__)


def locked(tool: Tool) -> Tool:
    """The tool row, locked. Lock order everywhere: Tool row, then its DraftLock row."""
    return Tool.objects.select_for_update(of=("self",)).get(pk=tool.pk)


def require_admin(actor: User) -> None:
    if not actor.has_role(Role.ADMIN):
        raise AdminRequired()


@transaction.atomic
def create_tool(*, project: Project, creator: User, title: str, summary: str = "") -> Tool:
    """A new unpublished tool with slug `draft-<id>`; the creator owns and maintains it.

    :raises ContributorRequired, ValidationFailed:
    """
    if not creator.has_role(Role.CONTRIBUTOR):
        raise ContributorRequired("Creating tools needs the global role contributor or higher.")
    tool_id = uuid.uuid4()
    tool = Tool.objects.create(
        id=tool_id,
        project=project,
        slug=f"{PLACEHOLDER_PREFIX}{tool_id}",
        owner=creator,
        title=_title(title),
        summary=summary.strip(),
    )
    access.assign_maintainer(user=creator, tool=tool)
    MaintainerChange.objects.create(
        tool=tool,
        user=creator,
        action=MaintainerChange.Action.ASSIGNED,
        performed_by=creator,
        reason="created the tool",
    )
    log.info("tool.created", tool_id=str(tool.pk), project_id=str(project.pk), user_id=creator.pk)
    return tool


@transaction.atomic
def update_metadata(*, tool: Tool, actor: User, title: str, summary: str | None = None) -> Tool:
    """:raises AdminRequired, ValidationFailed:"""
    require_admin(actor)
    tool = locked(tool)
    tool.title = _title(title)
    if summary is not None:
        tool.summary = summary.strip()
    tool.save(update_fields=["title", "summary"])
    return tool


@transaction.atomic
def update_slug(*, tool: Tool, actor: User, slug: str) -> Tool:
    """Give an unpublished tool its URL name. :raises AdminRequired, InvalidSlug:"""
    tool = locked(tool)
    _require_listing_rights(actor, tool)
    slug = slug.strip().lower()
    if tool.is_published:
        raise InvalidSlug("The slug of a published tool cannot change.")
    if not 1 <= len(slug) <= 128 or not re.fullmatch(SLUG_PATTERN, slug):
        raise InvalidSlug("Use lower-case letters and digits joined by single hyphens.")
    if slug.startswith(PLACEHOLDER_PREFIX):
        raise InvalidSlug(f"Slugs starting with {PLACEHOLDER_PREFIX!r} are reserved for new tools.")
    if Tool.objects.filter(project_id=tool.project_id, slug=slug).exclude(pk=tool.pk).exists():
        raise InvalidSlug("Another tool of this project already uses this slug.")
    tool.slug = slug
    tool.save(update_fields=["slug"])
    return tool


@transaction.atomic
def set_taxonomy(
    *, tool: Tool, actor: User, profession_ids: list[int], category_ids: list[int]
) -> Tool:
    """Replace the tool's professions and categories. :raises AdminRequired, ValidationFailed:"""
    tool = locked(tool)
    _require_listing_rights(actor, tool)
    professions = list(Profession.objects.filter(pk__in=profession_ids))
    categories = list(Category.objects.filter(pk__in=category_ids))
    if len(professions) != len(set(profession_ids)) or len(categories) != len(set(category_ids)):
        raise ValidationFailed("Unknown profession or category id.")
    tool.professions.set(professions)
    tool.categories.set(categories)
    return tool


def _require_listing_rights(actor: User, tool: Tool) -> None:
    """:raises AdminRequired: not allowed by access.may_prepare_listing"""
    if not access.may_prepare_listing(user=actor, tool=tool):
        raise AdminRequired(
            "Maintainers set the slug, professions and categories of an unpublished tool; "
            "once it is published, only global admins change them."
        )


def check_publish_requirements(tool: Tool) -> None:
    """:raises PublishRequirementsMissing: placeholder slug, or no profession or category; its
    details list each missing requirement as `{field, message}` (field: slug, professions or
    categories, the setting that fixes it) and, as before, the messages alone in `missing`"""
    requirements = []
    if tool.has_placeholder_slug:
        requirements.append(
            ("slug", "Give the tool a real slug (it still has its draft-… placeholder).")
        )
    if not tool.professions.exists():
        requirements.append(("professions", "Choose at least one profession."))
    if not tool.categories.exists():
        requirements.append(("categories", "Choose at least one category."))
    if requirements:
        missing = [message for _, message in requirements]
        raise PublishRequirementsMissing(
            " ".join(missing),
            details={
                "missing": missing,
                "requirements": [
                    {"field": field, "message": message} for field, message in requirements
                ],
            },
        )


@transaction.atomic
def publish_tool(*, tool: Tool, actor: User) -> Tool:
    """:raises AdminRequired, ValidationFailed, PublishRequirementsMissing, WrongVersionState:"""
    require_admin(actor)
    tool = locked(tool)
    if tool.is_published:
        return tool
    if tool.active_version_id is None:
        raise ValidationFailed("The tool has no active version to publish.")
    check_publish_requirements(tool)
    active = tool.active_version
    if active is None or active.tool_id != tool.pk or active.state != VersionState.ACTIVE:
        raise WrongVersionState("The tool's active version is missing or not ACTIVE.")
    tool.is_published = True
    tool.save(update_fields=["is_published"])
    log.info("tool.published", tool_id=str(tool.pk), user_id=actor.pk)
    return tool


@transaction.atomic
def depublish_tool(*, tool: Tool, actor: User) -> Tool:
    require_admin(actor)
    tool = locked(tool)
    if tool.is_published:
        tool.is_published = False
        tool.save(update_fields=["is_published"])
        log.info("tool.depublished", tool_id=str(tool.pk), user_id=actor.pk)
    return tool


@transaction.atomic
def assign_maintainer(*, tool: Tool, actor: User, email: str, reason: str = "") -> User:
    """Make a contributor+ user a maintainer (idempotent); audited.

    :raises AdminRequired, MaintainerRuleViolated, SuperuserRequired:
    """
    require_admin(actor)
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    if user is None:
        raise MaintainerRuleViolated("No active user has this email address.")
    if not user.has_role(Role.CONTRIBUTOR):
        raise MaintainerRuleViolated("Maintainers need the global role contributor or higher.")
    _require_superuser_for(actor, user)
    if access.assign_maintainer(user=user, tool=tool):
        MaintainerChange.objects.create(
            tool=tool,
            user=user,
            action=MaintainerChange.Action.ASSIGNED,
            performed_by=actor,
            reason=reason,
        )
    return user


@transaction.atomic
def remove_maintainer(*, tool: Tool, actor: User, user: User, reason: str = "") -> None:
    """:raises AdminRequired, MaintainerRuleViolated, SuperuserRequired:"""
    require_admin(actor)
    if user.pk == tool.owner_id or user.has_role(Role.SUPERUSER):
        _require_superuser_for(actor, user, owner=True)
    if not access.revoke_maintainer(user=user, tool=tool):
        raise MaintainerRuleViolated("This user is not a maintainer of the tool.")
    MaintainerChange.objects.create(
        tool=tool,
        user=user,
        action=MaintainerChange.Action.REMOVED,
        performed_by=actor,
        reason=reason,
    )


def _require_superuser_for(actor: User, target: User, *, owner: bool = False) -> None:
    if (owner or target.has_role(Role.SUPERUSER)) and not actor.has_role(Role.SUPERUSER):
        raise SuperuserRequired(
            "Only a superuser may change a superuser's or the owner's role here."
        )


def _title(raw: str) -> str:
    title = raw.strip()
    if not 1 <= len(title) <= 255:
        raise ValidationFailed(
            "Title must be 1 to 255 characters.",
            details={"fields": {"title": ["1 to 255 characters."]}},
        )
    return title
