from apps.core.exceptions import Conflict, PermissionDenied, ValidationFailed


class EmailTaken(Conflict):
    code = "EMAIL_TAKEN"
    default_message = "A user with this email address already exists."


class InvalidTokenExpiry(ValidationFailed):
    default_message = "Token expiry is out of range."


class AccountProtected(PermissionDenied):
    code = "ACCOUNT_PROTECTED"
    default_message = "Only a superuser may change an admin or superuser account."


class RoleNotAssignable(PermissionDenied):
    code = "ROLE_NOT_ASSIGNABLE"
    default_message = "Only a superuser may give or take away the admin and superuser roles."
