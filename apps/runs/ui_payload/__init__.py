"""The UI payload normaliser (behaviour §1.10) and checks on submitted actions, as pure functions.

Callers import from here; the sub-modules split the work by part of the result.
"""

from apps.runs.ui_payload.action_input import offered_action, validate_action_input
from apps.runs.ui_payload.actions import NormalizationError
from apps.runs.ui_payload.payload import NormalizedResult, failure_payload, normalize_result
from apps.runs.ui_payload.policy import CURATED_POLICY, DEFAULT_POLICY, UiPolicy

__all__ = [
    "CURATED_POLICY",
    "DEFAULT_POLICY",
    "NormalizationError",
    "NormalizedResult",
    "UiPolicy",
    "failure_payload",
    "normalize_result",
    "offered_action",
    "validate_action_input",
]
