from apps.core.exceptions import Conflict, NotFound, PermissionDenied, ValidationFailed


class ProjectNotFound(NotFound):
    # Same body whether the project is missing or merely invisible to the caller.
    default_message = "Project not found."


class MemberNotFound(NotFound):
    default_message = "This user is not a member of the project."


class ProjectRoleRequired(PermissionDenied):
    default_message = "Your role in this project does not allow this action."


class ContributorRequired(PermissionDenied):
    code = "CONTRIBUTOR_REQUIRED"
    default_message = "Creating projects needs the global role contributor or higher."


class OwnerRequired(PermissionDenied):
    code = "OWNER_REQUIRED"
    default_message = "Only an owner can grant, change or remove the owner role."


class LastOwner(Conflict):
    code = "LAST_OWNER"
    default_message = "A project must keep at least one owner."


class AlreadyMember(Conflict):
    code = "ALREADY_MEMBER"
    default_message = "This user is already a member of the project."


class UnknownUser(ValidationFailed):
    code = "UNKNOWN_USER"
    default_message = "No active user has this email address."


class SandboxNameTaken(Conflict):
    code = "SANDBOX_NAME_TAKEN"
    default_message = "The parent project already has a sandbox with this name."


class SandboxTooDeep(ValidationFailed):
    code = "SANDBOX_TOO_DEEP"
    default_message = "Sandboxes cannot be nested this deep."


class ParentScheduledForDeletion(Conflict):
    code = "PARENT_SCHEDULED_FOR_DELETION"
    default_message = "The parent project is scheduled for deletion; restore it first."
