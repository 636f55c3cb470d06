from apps.core.exceptions import Conflict, ValidationFailed


class EmailTaken(Conflict):
    code = "EMAIL_TAKEN"
    default_message = "A user with this email address already exists."


class InvalidTokenExpiry(ValidationFailed):
    default_message = "Token expiry is out of range."
