from apps.core.exceptions import BadRequest, Conflict, NotFound, PermissionDenied, ValidationFailed


class CollectionNotFound(NotFound):
    # One answer for "no such collection" and "not yours to see" (no existence oracle).
    default_message = "Not Found"


class AmbiguousCollection(Conflict):
    code = "AMBIGUOUS_COLLECTION"
    default_message = (
        "A collection with this name exists in more than one of your projects. "
        "Use API v2 (header x-api-version: 2) with the project id: "
        "/collections/{project_id}/{name}."
    )


class CollectionRoleRequired(PermissionDenied):
    default_message = "Your role in this project does not allow this operation."


class UnsupportedApiVersion(BadRequest):
    code = "UNSUPPORTED_API_VERSION"


class InvalidQuery(BadRequest):
    code = "BAD_REQUEST"


class PatternTooSlow(BadRequest):
    code = "PATTERN_TOO_SLOW"
    default_message = (
        'The key pattern took too long to match. Anchor it with a prefix ("prefix*") '
        "or narrow it with time filters."
    )


class MissingField(ValidationFailed):
    code = "MISSING_FIELD"


class DuplicateKey(ValidationFailed):
    code = "DUPLICATE_KEY"
    default_message = "Duplicate key found"


class TooManyItems(ValidationFailed):
    code = "TOO_MANY_ITEMS"


class CollectionExists(Conflict):
    code = "COLLECTION_EXISTS"
    default_message = "A collection with this name already exists in this project."
