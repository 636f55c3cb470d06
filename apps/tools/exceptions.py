from apps.core.exceptions import Conflict, NotFound, PermissionDenied, ValidationFailed


class ToolNotFound(NotFound):
    default_message = "Tool not found."


class VersionNotFound(NotFound):
    default_message = "Tool version not found."


class ToolEditDenied(PermissionDenied):
    default_message = "Editing this tool needs the contributor role and maintainership, or admin."


class AdminRequired(PermissionDenied):
    code = "ADMIN_REQUIRED"
    default_message = "This action needs the global role admin or superuser."


class SuperuserRequired(PermissionDenied):
    code = "SUPERUSER_REQUIRED"
    default_message = "This action needs the global role superuser."


class WrongVersionState(Conflict):
    code = "WRONG_VERSION_STATE"


class DraftHeadMoved(Conflict):
    code = "DRAFT_HEAD_MOVED"
    default_message = "The draft head has moved; reload before saving."


class PublishRequirementsMissing(ValidationFailed):
    code = "PUBLISH_REQUIREMENTS"


class InvalidSlug(ValidationFailed):
    code = "INVALID_SLUG"


class MaintainerRuleViolated(ValidationFailed):
    code = "MAINTAINER_RULE"
