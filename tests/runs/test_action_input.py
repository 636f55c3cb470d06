"""Checks on a submitted action: offered by the last run, input fits its fields (§9 item 21)."""

import pytest

from apps.core.api.exception_handler import domain_status
from apps.core.exceptions import ValidationFailed
from apps.runs.exceptions import ActionNotOffered
from apps.runs.ui_payload import normalize_result, offered_action, validate_action_input

OPTIONS = [{"value": "math", "label": "Maths"}, {"value": "sv", "label": "Swedish"}]
FIELDS = [
    {"kind": "string", "name": "title", "label": "Title"},
    {"kind": "text", "name": "notes", "label": "Notes"},
    {"kind": "integer", "name": "threshold", "label": "Min size"},
    {"kind": "number", "name": "ratio", "label": "Ratio"},
    {"kind": "boolean", "name": "confirm", "label": "Confirm"},
    {"kind": "enum", "name": "subject", "label": "Subject", "options": OPTIONS},
    {"kind": "multi_enum", "name": "subjects", "label": "Subjects", "options": OPTIONS},
]


def stored_payload():
    """A payload as the normaliser stores it on the run."""
    return normalize_result(
        outputs=[],
        next_actions=[
            {"action_id": "refine", "label": "Refine", "kind": "form", "fields": FIELDS},
            {"action_id": "reset", "label": "Reset", "kind": "form"},
        ],
        state=None,
    ).ui_payload


REFINE = stored_payload()["next_actions"][0]


def invalid(raw_input, action=REFINE):
    with pytest.raises(ValidationFailed) as caught:
        validate_action_input(action, raw_input)
    assert caught.value.code == "VALIDATION_ERROR"
    assert domain_status(caught.value) == 422
    return caught.value


# offered_action


def test_offered_action_returns_the_stored_action():
    payload = stored_payload()

    assert offered_action(payload, "reset") == {
        "action_id": "reset",
        "label": "Reset",
        "kind": "form",
        "fields": [],
        "prefill": {},
    }
    assert offered_action(payload, "refine")["fields"] == FIELDS


@pytest.mark.parametrize(
    ("payload", "action_id"),
    [
        (stored_payload(), "finish"),
        (stored_payload(), "Reset"),
        (stored_payload(), "reset "),
        ({"contract_version": 2, "outputs": [], "next_actions": []}, "reset"),
        ({"contract_version": 2, "outputs": []}, "reset"),
        (None, "reset"),
    ],
)
def test_an_action_that_was_not_offered_is_refused(payload, action_id):
    with pytest.raises(ActionNotOffered) as caught:
        offered_action(payload, action_id)

    assert caught.value.code == "ACTION_NOT_OFFERED"
    assert domain_status(caught.value) == 422
    assert caught.value.message == "This action was not offered by the last run."


def test_refusal_lists_the_offered_action_ids():
    with pytest.raises(ActionNotOffered) as caught:
        offered_action(stored_payload(), "finish")

    assert caught.value.details == {"offered_action_ids": ["refine", "reset"]}


# validate_action_input: accepted values (settings rules of §3.4)


def test_valid_input_is_coerced():
    raw_input = {
        "title": "  My title ",
        "notes": "a\nb",
        "threshold": " 1000 ",
        "ratio": "0.25",
        "confirm": "Yes",
        "subject": " sv ",
        "subjects": ["sv", "math", "sv"],
    }

    assert validate_action_input(REFINE, raw_input) == {
        "title": "  My title ",  # settings rules keep text as typed
        "notes": "a\nb",
        "threshold": 1000,
        "ratio": 0.25,
        "confirm": True,
        "subject": "sv",
        "subjects": ["sv", "math"],  # duplicates removed, first occurrence kept
    }


@pytest.mark.parametrize("raw_input", [None, {}])
def test_empty_input_is_accepted(raw_input):
    assert validate_action_input(REFINE, raw_input) == {}


def test_null_and_blank_values_are_left_out():
    raw_input = {"title": "", "threshold": "  ", "ratio": None, "confirm": "", "subject": " "}

    assert validate_action_input(REFINE, raw_input) == {}


def test_integers_from_strings_and_numbers():
    assert validate_action_input(REFINE, {"threshold": "-12"}) == {"threshold": -12}
    assert validate_action_input(REFINE, {"threshold": 7}) == {"threshold": 7}
    assert validate_action_input(REFINE, {"ratio": 3}) == {"ratio": 3}


def test_action_without_fields_accepts_only_empty_input():
    reset = offered_action(stored_payload(), "reset")

    assert validate_action_input(reset, {}) == {}
    error = invalid({"anything": 1}, action=reset)
    assert error.details == {"unknown_keys": ["anything"]}


# validate_action_input: refused values


@pytest.mark.parametrize(
    ("name", "value", "kind", "problem"),
    [
        ("title", 3, "string", "expected string"),
        ("notes", ["x"], "text", "expected string"),
        ("threshold", "12.5", "integer", "expected integer"),
        ("threshold", True, "integer", "expected integer"),
        ("threshold", 1.5, "integer", "expected integer"),
        ("ratio", "many", "number", "expected number"),
        ("ratio", False, "number", "expected number"),
        ("confirm", "maybe", "boolean", "expected boolean"),
        ("confirm", 1, "boolean", "expected boolean"),
        ("subject", "history", "enum", "unknown enum option"),
        ("subject", 1, "enum", "expected enum value"),
        ("subjects", "math", "multi_enum", "expected list of enum values"),
        ("subjects", ["math", "history"], "multi_enum", "unknown enum option"),
        ("subjects", ["math", " "], "multi_enum", "blank option"),
        ("subjects", ["math", 2], "multi_enum", "expected list of enum values"),
    ],
)
def test_wrong_values_name_the_field(name, value, kind, problem):
    error = invalid({name: value})

    assert error.message == f"Invalid action input ({problem})"
    assert error.details == {"field": name, "kind": kind}


def test_unknown_keys_are_refused_and_listed():
    error = invalid({"title": "x", "zeta": 1, "alpha": 2})

    assert error.message == "Unknown action input keys"
    assert error.details == {"unknown_keys": ["alpha", "zeta"]}


@pytest.mark.parametrize("raw_input", [[], "text", 3, True])
def test_input_that_is_not_an_object_is_refused(raw_input):
    error = invalid(raw_input)

    assert error.message == "action input must be a JSON object"
