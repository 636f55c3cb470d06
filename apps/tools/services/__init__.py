"""State changes of tools, versions and their draft locks (one function per use-case)."""

from apps.tools.services.catalog import (
    assign_maintainer,
    check_publish_requirements,
    create_tool,
    depublish_tool,
    publish_tool,
    remove_maintainer,
    set_taxonomy,
    update_metadata,
    update_slug,
)
from apps.tools.services.favorites import add_favorite, remove_favorite
from apps.tools.services.locking import (
    acquire_draft_lock,
    refresh_draft_lock,
    release_draft_lock,
)
from apps.tools.services.versions import (
    ContentEdit,
    create_draft,
    publish_version,
    request_changes,
    rollback_version,
    save_draft,
    submit_for_review,
)

__all__ = [
    "ContentEdit",
    "acquire_draft_lock",
    "add_favorite",
    "assign_maintainer",
    "check_publish_requirements",
    "create_draft",
    "create_tool",
    "depublish_tool",
    "publish_tool",
    "publish_version",
    "refresh_draft_lock",
    "release_draft_lock",
    "remove_favorite",
    "remove_maintainer",
    "request_changes",
    "rollback_version",
    "save_draft",
    "set_taxonomy",
    "submit_for_review",
    "update_metadata",
    "update_slug",
]
