from apps.core.exceptions import ValidationFailed


class NotASandbox(ValidationFailed):
    code = "NOT_A_SANDBOX"
    default_message = "Only a sandbox project can be merged."


class InvalidMergeTarget(ValidationFailed):
    code = "INVALID_MERGE_TARGET"
    default_message = "A sandbox merges into its parent or a sibling, never into a descendant."
