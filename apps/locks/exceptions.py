from apps.core.exceptions import Conflict, PermissionDenied


class DraftLockRequired(Conflict):
    code = "DRAFT_LOCK_REQUIRED"
    default_message = "Acquire the draft lock before changing the draft."


class DraftLockExpired(Conflict):
    code = "DRAFT_LOCK_EXPIRED"
    default_message = "Your draft lock has expired; acquire it again."


class DraftLockHeld(PermissionDenied):
    code = "DRAFT_LOCK_HELD"
    default_message = "The draft lock is held by another user."


class DraftLockStaleToken(Conflict):
    code = "DRAFT_LOCK_STALE_TOKEN"
    default_message = "The lock token is stale: the lock was taken again since you got it."


class NotDraftHead(Conflict):
    code = "NOT_DRAFT_HEAD"
    default_message = "This version is not the tool's current draft head."


class ForceRequiresAdmin(PermissionDenied):
    code = "FORCE_REQUIRES_ADMIN"
    default_message = "Taking over another user's lock needs the global role admin or superuser."
