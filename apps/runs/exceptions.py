from apps.core.exceptions import (
    Conflict,
    NotFound,
    RateLimited,
    ServiceUnavailable,
    ValidationFailed,
)


class RunNotFound(NotFound):
    default_message = "Tool run not found."


class ArtifactNotFound(NotFound):
    default_message = "Artifact not found."


class SessionNotFound(NotFound):
    code = "SESSION_NOT_FOUND"
    default_message = "Session not found. Run the tool first."


class StateRevConflict(Conflict):
    code = "STATE_REV_CONFLICT"
    default_message = "The session changed since you loaded it; reload its state."


class ActionNotOffered(ValidationFailed):
    code = "ACTION_NOT_OFFERED"
    default_message = "This action was not offered by the last run."


class NoSettingsSchema(ValidationFailed):
    default_message = "Tool has no settings schema."


class RunLimitReached(RateLimited):
    code = "RUN_LIMIT_REACHED"
    default_message = "You have too many runs in progress; wait for one to finish."


class RunnerUnavailable(ServiceUnavailable):
    code = "RUNNER_UNAVAILABLE"
    default_message = "The tool runner is not available on this host."


class ToolUnavailable(Conflict):
    code = "TOOL_UNAVAILABLE"
    default_message = "This tool is no longer published, so it cannot be run again."


class RunNotRerunnable(Conflict):
    code = "RUN_NOT_RERUNNABLE"
    default_message = "Only a finished first run of a published tool can be run again."


class RunFilesRemoved(Conflict):
    code = "RUN_FILES_REMOVED"
    default_message = "The files of this run were removed; run the tool again with new files."
