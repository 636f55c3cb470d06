from apps.core.exceptions import Conflict, NotFound, ValidationFailed


class SnapshotNotFound(NotFound):
    code = "SNAPSHOT_NOT_FOUND"
    default_message = "Sandbox snapshot not found."


class SnapshotExpired(Conflict):
    code = "SNAPSHOT_EXPIRED"
    default_message = "Sandbox snapshot has expired. Run the sandbox again."


class SnapshotMismatch(Conflict):
    code = "SNAPSHOT_MISMATCH"
    default_message = "Sandbox snapshot does not match this tool's draft head."


class SnapshotTooLarge(ValidationFailed):
    default_message = "Sandbox snapshot payload exceeds size limit"
