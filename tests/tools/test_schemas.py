import json
import math

import pytest
from django.conf import settings

from apps.core.exceptions import ValidationFailed
from apps.tools.schema_values import coerce_input_values, coerce_settings_values
from apps.tools.schemas import (
    canonical_json,
    json_pointer,
    normalize_input_schema,
    normalize_settings_schema,
    schema_issues,
    validate_schemas,
)

OPTIONS = [{"value": "pdf", "label": "PDF"}, {"value": "txt", "label": "Plain text"}]


def file_field(**overrides):
    return {"kind": "file", "name": "files", "label": "Files", "min": 1, "max": 3, **overrides}


def enum_field(kind="enum", **overrides):
    return {"kind": kind, "name": "format", "label": "Format", "options": OPTIONS, **overrides}


def input_issues(schema, max_files=None):
    return schema_issues(input_schema=schema, settings_schema=None, max_files=max_files)


def settings_issues(schema):
    return schema_issues(input_schema=[], settings_schema=schema)


def paths(issues):
    return [issue["path"] for issue in issues]


def input_error(schema, **kwargs):
    with pytest.raises(ValidationFailed) as caught:
        normalize_input_schema(schema, **kwargs)
    return caught.value


# Whole schemas


def test_input_schema_example_normalises_to_canonical_form():
    raw = [
        {"kind": "file", "name": " rosters ", "label": "Class lists", "accept": [".csv"], "min": 1,
         "max": 3},
        {"kind": "string", "name": "title", "label": " Report title "},
        {"kind": "enum", "name": "format", "label": "Format",
         "options": [{"value": " pdf ", "label": " PDF "}, {"value": "txt", "label": "Plain"}]},
    ]  # fmt: skip

    assert normalize_input_schema(raw) == [
        {"kind": "file", "name": "rosters", "label": "Class lists", "accept": [".csv"], "min": 1,
         "max": 3},
        {"kind": "string", "name": "title", "label": "Report title"},
        {"kind": "enum", "name": "format", "label": "Format",
         "options": [{"value": "pdf", "label": "PDF"}, {"value": "txt", "label": "Plain"}]},
    ]  # fmt: skip


def test_empty_input_schema_is_allowed():
    assert normalize_input_schema([]) == []


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (None, "input_schema is required and must be an array"),
        ({"kind": "string"}, "input_schema must be an array"),
        ("[]", "input_schema must be an array"),
    ],
)
def test_input_schema_must_be_a_list(raw, message):
    error = input_error(raw)

    assert error.code == "VALIDATION_ERROR"
    assert error.details["issues"] == [{"schema": "input_schema", "path": None, "message": message}]


@pytest.mark.parametrize("raw", [None, []])
def test_settings_schema_null_or_empty_means_no_settings(raw):
    assert normalize_settings_schema(raw) is None


def test_settings_schema_example_normalises():
    raw = [
        {"kind": "string", "name": "theme_color", "label": "Colour theme"},
        {"kind": "multi_enum", "name": "subjects", "label": "Subjects", "options": OPTIONS},
    ]

    assert normalize_settings_schema(raw) == raw


def test_settings_schema_must_be_a_list_or_null():
    assert settings_issues({"kind": "string"}) == [
        {
            "schema": "settings_schema",
            "path": None,
            "message": "settings_schema must be an array or null",
        }
    ]


@pytest.mark.parametrize("kind", ["string", "text", "integer", "number", "boolean"])
def test_plain_kinds_are_valid_in_both_schemas(kind):
    field = {"kind": kind, "name": "x", "label": "X"}

    assert normalize_input_schema([field]) == [field]
    assert normalize_settings_schema([field]) == [field]


def test_multi_enum_is_settings_only_and_file_is_input_only():
    assert paths(input_issues([enum_field("multi_enum")])) == ["/0/kind"]
    assert paths(settings_issues([file_field()])) == ["/0/kind"]


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ({"name": "x", "label": "X"}, "kind is required"),
        ({"kind": "date", "name": "x", "label": "X"}, "kind must be one of"),
        ({"kind": ["string"], "name": "x", "label": "X"}, "kind must be one of"),
    ],
)
def test_kind_is_required_and_known(field, message):
    (issue,) = input_issues([field])

    assert issue["path"] == "/0/kind"
    assert issue["message"].startswith(message)


def test_field_must_be_an_object():
    assert input_issues(["string"]) == [
        {"schema": "input_schema", "path": "/0", "message": "field must be an object"}
    ]


@pytest.mark.parametrize("key", ["name", "label"])
@pytest.mark.parametrize(
    ("value", "message"),
    [(None, "must be a string"), (3, "must be a string"), ("", "must not be blank"),
     ("  \t", "must not be blank")],
)  # fmt: skip
def test_name_and_label_must_be_non_blank_strings(key, value, message):
    field = {"kind": "string", "name": "x", "label": "X", key: value}

    (issue,) = input_issues([field])

    assert issue["path"] == f"/0/{key}"
    assert issue["message"] == f"{key} {message}"


@pytest.mark.parametrize("key", ["name", "label"])
def test_name_and_label_are_required(key):
    field = {"kind": "string", "name": "x", "label": "X"}
    del field[key]

    assert input_issues([field])[0]["message"] == f"{key} is required"


def test_duplicate_names_after_stripping_are_one_whole_schema_issue():
    schema = [
        {"kind": "string", "name": "a", "label": "A"},
        {"kind": "text", "name": " a ", "label": "A2"},
        {"kind": "integer", "name": "b", "label": "B"},
    ]

    assert input_issues(schema) == [
        {"schema": "input_schema", "path": None,
         "message": "input_schema contains duplicate field names", "details": {"duplicates": ["a"]}}
    ]  # fmt: skip
    assert settings_issues(schema)[0]["message"] == "settings_schema contains duplicate field names"


def test_two_file_fields_are_rejected():
    schema = [file_field(), file_field(name="more")]

    assert input_issues(schema) == [
        {"schema": "input_schema", "path": None,
         "message": "input_schema can contain at most one file field",
         "details": {"file_fields": 2}}
    ]  # fmt: skip


def test_unknown_keys_are_rejected_per_key():
    schema = [{"kind": "string", "name": "x", "label": "X", "default": "a", "options": OPTIONS}]

    assert paths(input_issues(schema)) == ["/0/default", "/0/options"]


def test_kind_specific_keys_are_unknown_on_other_kinds():
    assert paths(input_issues([{"kind": "integer", "name": "x", "label": "X", "min": 0}])) == [
        "/0/min"
    ]


def test_pointer_escapes_tilde_and_slash_in_unknown_keys():
    schema = [{"kind": "string", "name": "x", "label": "X", "a/b": 1, "c~d": 2}]

    assert paths(input_issues(schema)) == ["/0/a~1b", "/0/c~0d"]


def test_json_pointer_escapes_tilde_before_slash():
    assert json_pointer((0, "~/", "options", 1)) == "/0/~0~1/options/1"


# Enum and multi_enum options


@pytest.mark.parametrize("kind", ["enum", "multi_enum"])
def test_options_are_stripped(kind):
    field = enum_field(kind, options=[{"value": " a ", "label": " A "}])

    assert normalize_settings_schema([field]) == [
        {**field, "options": [{"value": "a", "label": "A"}]}
    ]


@pytest.mark.parametrize(
    ("options", "path", "message"),
    [
        (None, "/1/options", "options must be an array"),
        ({"value": "a"}, "/1/options", "options must be an array"),
        ([], "/1/options", "options must not be empty"),
        (["a"], "/1/options/0", "option must be an object"),
        ([{"value": "", "label": "A"}], "/1/options/0/value", "value must not be blank"),
        ([{"value": "a", "label": " "}], "/1/options/0/label", "label must not be blank"),
        ([{"label": "A"}], "/1/options/0/value", "value is required"),
        ([{"value": 1, "label": "A"}], "/1/options/0/value", "value must be a string"),
        ([{"value": "a", "label": "A", "x": 1}], "/1/options/0/x", "unknown key 'x'"),
    ],
)
def test_option_problems_point_at_the_option(options, path, message):
    schema = [{"kind": "string", "name": "s", "label": "S"}, enum_field(options=options)]

    (issue,) = input_issues(schema)

    assert (issue["path"], issue["message"]) == (path, message)


def test_options_are_required():
    field = enum_field()
    del field["options"]

    assert input_issues([field])[0]["message"] == "options is required"


def test_duplicate_option_values_point_at_the_repeat():
    options = [
        {"value": "a", "label": "A"},
        {"value": "b", "label": "B"},
        {"value": " a", "label": "C"},
    ]

    (issue,) = settings_issues([enum_field("multi_enum", options=options)])

    assert issue["path"] == "/0/options/2/value"
    assert issue["message"] == "duplicate option value 'a'"


# File field


def test_file_field_canonical_form_always_has_accept():
    assert normalize_input_schema([file_field()]) == [
        {"kind": "file", "name": "files", "label": "Files", "accept": None, "min": 1, "max": 3}
    ]


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, None),
        ([], None),
        ([" ", ""], None),
        ([" .csv ", ".csv", "text/csv", ".CSV"], [".csv", "text/csv", ".CSV"]),
    ],
)
def test_accept_is_trimmed_deduplicated_and_empty_becomes_null(accept, expected):
    (field,) = normalize_input_schema([file_field(accept=accept)])

    assert field["accept"] == expected


@pytest.mark.parametrize(
    ("accept", "path"),
    [(".csv", "/0/accept"), ({"a": 1}, "/0/accept"), ([".csv", 3], "/0/accept/1")],
)
def test_accept_must_be_a_list_of_strings(accept, path):
    assert paths(input_issues([file_field(accept=accept)])) == [path]


@pytest.mark.parametrize(("low", "high"), [(0, 1), (0, 20), (1, 1), (20, 20), (3, 10)])
def test_file_min_max_within_limits_pass(low, high):
    (field,) = normalize_input_schema([file_field(min=low, max=high)])

    assert (field["min"], field["max"]) == (low, high)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"min": -1}, [("/0/min", "min must be >= 0")]),
        ({"max": 0, "min": 0}, [("/0/max", "max must be >= 1")]),
        ({"min": 4, "max": 3}, [("/0/max", "max must be >= min")]),
        ({"min": "1"}, [("/0/min", "min must be an integer")]),
        ({"max": 2.0}, [("/0/max", "max must be an integer")]),
        ({"min": True}, [("/0/min", "min must be an integer")]),
        ({"max": True, "min": False}, [("/0/min", "min must be an integer"),
                                       ("/0/max", "max must be an integer")]),
        ({"min": None}, [("/0/min", "min must be an integer")]),
    ],
)  # fmt: skip
def test_file_min_max_rules(overrides, expected):
    issues = input_issues([file_field(**overrides)])

    assert [(issue["path"], issue["message"]) for issue in issues] == expected


@pytest.mark.parametrize("key", ["min", "max"])
def test_file_min_and_max_are_required(key):
    field = file_field()
    del field[key]

    assert input_issues([field])[0]["message"] == f"{key} is required"


def test_file_max_at_the_upload_limit_passes_and_one_more_fails():
    assert input_issues([file_field(max=settings.UPLOAD_MAX_FILES)]) == []

    assert input_issues([file_field(max=settings.UPLOAD_MAX_FILES + 1)]) == [
        {"schema": "input_schema", "path": "/0/max",
         "message": "max must be <= 20 (the server's upload limit)", "details": {"limit": 20}}
    ]  # fmt: skip


def test_upload_limit_gives_one_issue_per_offending_key():
    issues = input_issues([file_field(min=6, max=8)], max_files=5)

    assert paths(issues) == ["/0/min", "/0/max"]


def test_upload_limit_is_a_parameter_of_normalisation():
    assert normalize_input_schema([file_field(max=5)], max_files=5)[0]["max"] == 5
    assert input_error([file_field(max=6)], max_files=5).details["issues"][0]["path"] == "/0/max"


# Reporting


def test_normalise_reports_every_problem_not_just_the_first():
    schema = [
        {"kind": "string", "name": "", "label": "X"},
        file_field(max=0),
        enum_field(options=[{"value": "a", "label": "A"}, {"value": "", "label": "B"}]),
        file_field(name="files", max=99),
    ]

    error = input_error(schema)

    assert paths(error.details["issues"]) == [
        "/0/name", "/1/max", "/2/options/1/value", "/3/max", None, None,
    ]  # fmt: skip
    assert error.message == (
        "Invalid input_schema: name must not be blank (at /0/name) and 5 more problem(s)"
    )


def test_single_problem_message_names_the_schema_and_path():
    error = input_error([file_field(max=0, min=0)])

    assert error.message == "Invalid input_schema: max must be >= 1 (at /0/max)"


def test_settings_normalise_raises_with_issues():
    with pytest.raises(ValidationFailed) as caught:
        normalize_settings_schema([{"kind": "enum", "name": "x", "label": "X", "options": []}])

    assert caught.value.details == {
        "issues": [
            {
                "schema": "settings_schema",
                "path": "/0/options",
                "message": "options must not be empty",
            }
        ]
    }


def test_schema_issues_combines_both_schemas_input_first():
    issues = schema_issues(
        input_schema=[file_field(max=0, min=0)],
        settings_schema=[
            {"kind": "string", "name": "a", "label": "A"},
            {"kind": "text", "name": "a", "label": "B"},
        ],
    )

    assert [(issue["schema"], issue["path"]) for issue in issues] == [
        ("input_schema", "/0/max"),
        ("settings_schema", None),
    ]


def test_schema_issues_never_raises_on_garbage():
    issues = schema_issues(input_schema=42, settings_schema="x")

    assert [issue["message"] for issue in issues] == [
        "input_schema must be an array",
        "settings_schema must be an array or null",
    ]


def test_validate_schemas_answers_valid_and_issues():
    assert validate_schemas(input_schema=[], settings_schema=None) == {"valid": True, "issues": []}

    answer = validate_schemas(input_schema=None, settings_schema=None)

    assert answer["valid"] is False
    assert answer["issues"][0]["message"] == "input_schema is required and must be an array"


def test_validate_schemas_passes_the_upload_limit_on():
    answer = validate_schemas(input_schema=[file_field(max=4)], settings_schema=None, max_files=3)

    assert paths(answer["issues"]) == ["/0/max"]


# canonical_json


def test_canonical_json_sorts_keys_without_whitespace_in_utf8():
    value = {"b": [1, 2.5, None, True], "a": {"ö": "å", "c": "ü"}}

    assert canonical_json(value) == '{"a":{"c":"ü","ö":"å"},"b":[1,2.5,null,true]}'.encode()


def test_canonical_json_is_stable_across_key_order():
    assert canonical_json({"a": 1, "b": 2}) == canonical_json({"b": 2, "a": 1})
    assert json.loads(canonical_json({"x": "é"})) == {"x": "é"}


@pytest.mark.parametrize("value", [math.nan, {"x": math.inf}, {"x": object()}])
def test_canonical_json_rejects_what_is_not_json(value):
    with pytest.raises(ValidationFailed):
        canonical_json(value)


# Input values

INPUT_SCHEMA = normalize_input_schema(
    [
        file_field(),
        {"kind": "string", "name": "s", "label": "S"},
        {"kind": "text", "name": "t", "label": "T"},
        {"kind": "integer", "name": "i", "label": "I"},
        {"kind": "number", "name": "n", "label": "N"},
        {"kind": "boolean", "name": "b", "label": "B"},
        enum_field(name="e"),
    ]
)
SETTINGS_SCHEMA = normalize_settings_schema(
    [
        {"kind": "string", "name": "s", "label": "S"},
        {"kind": "text", "name": "t", "label": "T"},
        {"kind": "integer", "name": "i", "label": "I"},
        {"kind": "number", "name": "n", "label": "N"},
        {"kind": "boolean", "name": "b", "label": "B"},
        enum_field(name="e"),
        enum_field("multi_enum", name="m"),
    ]
)

# (field, raw value, coerced value; None means the key is dropped)
SHARED_ACCEPTED = [
    ("i", None, None),
    ("i", 5, 5),
    ("i", -3, -3),
    ("i", " 42 ", 42),
    ("i", "", None),
    ("i", "   ", None),
    ("n", 2, 2),
    ("n", 2.5, 2.5),
    ("n", " 1.5 ", 1.5),
    ("n", "3", 3.0),
    ("n", " ", None),
    ("b", True, True),
    ("b", False, False),
    *[("b", word, True) for word in ["true", " TRUE ", "1", "yes", "On"]],
    *[("b", word, False) for word in ["false", "0", "No", " off "]],
    ("b", "  ", None),
    ("e", "pdf", "pdf"),
    ("e", " txt ", "txt"),
    ("e", "  ", None),
    ("e", None, None),
]
SHARED_REJECTED = [
    ("i", True, "expected integer"),
    ("i", 1.0, "expected integer"),
    ("i", "1.5", "expected integer"),
    ("i", "ten", "expected integer"),
    ("i", [1], "expected integer"),
    ("n", False, "expected number"),
    ("n", "abc", "expected number"),
    ("n", "nan", "expected number"),
    ("n", "inf", "expected number"),
    ("n", math.inf, "expected number"),
    ("n", {"x": 1}, "expected number"),
    ("b", 1, "expected boolean"),
    ("b", "maybe", "expected boolean"),
    ("b", [], "expected boolean"),
    ("e", 1, "expected enum value"),
    ("e", "PDF", "unknown enum option"),
    ("e", "doc", "unknown enum option"),
]
KINDS = {"s": "string", "t": "text", "i": "integer", "n": "number", "b": "boolean", "e": "enum",
         "m": "multi_enum"}  # fmt: skip


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [*SHARED_ACCEPTED, ("s", " hi ", "hi"), ("t", "a\nb\n", "a\nb"), ("s", "  ", None),
     ("t", "", None), ("s", None, None)],
)  # fmt: skip
def test_input_value_coercion(name, raw, expected):
    coerced = coerce_input_values(INPUT_SCHEMA, {name: raw})

    assert coerced == ({} if expected is None else {name: expected})
    if expected is not None:
        assert type(coerced[name]) is type(expected)


@pytest.mark.parametrize(
    ("name", "raw", "problem"),
    [*SHARED_REJECTED, ("s", 3, "expected string"), ("t", ["x"], "expected string")],
)
def test_input_value_rejections_name_field_and_kind(name, raw, problem):
    with pytest.raises(ValidationFailed) as caught:
        coerce_input_values(INPUT_SCHEMA, {name: raw})

    assert caught.value.message == f"Invalid input value ({problem})"
    assert caught.value.details == {"field": name, "kind": KINDS[name]}


def test_input_values_keep_schema_order_and_drop_blanks():
    coerced = coerce_input_values(INPUT_SCHEMA, {"e": "pdf", "s": " x ", "t": " ", "i": "7"})

    assert list(coerced.items()) == [("s", "x"), ("i", 7), ("e", "pdf")]


def test_unknown_input_keys_are_listed_sorted():
    with pytest.raises(ValidationFailed) as caught:
        coerce_input_values(INPUT_SCHEMA, {"zeta": 1, "s": "x", "alpha": None})

    assert caught.value.message == "Unknown input keys"
    assert caught.value.details == {"unknown_keys": ["alpha", "zeta"]}


@pytest.mark.parametrize("raw", [["a.csv"], None])
def test_file_field_name_is_not_an_input_key(raw):
    with pytest.raises(ValidationFailed) as caught:
        coerce_input_values(INPUT_SCHEMA, {"files": raw})

    assert caught.value.message == "File fields are not part of inputs JSON"
    assert caught.value.details == {"field": "files", "kind": "file"}


def test_inputs_must_be_an_object_and_null_means_none():
    assert coerce_input_values(INPUT_SCHEMA, None) == {}
    assert coerce_input_values([], {}) == {}
    with pytest.raises(ValidationFailed, match="inputs must be a JSON object"):
        coerce_input_values(INPUT_SCHEMA, [["s", "x"]])


# Settings values


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [*SHARED_ACCEPTED, ("s", " keep spaces ", " keep spaces "), ("t", "  ", "  "), ("s", "", None),
     ("m", ["pdf"], ["pdf"]), ("m", [" txt ", "pdf", "txt"], ["txt", "pdf"]), ("m", [], []),
     ("m", None, None)],
)  # fmt: skip
def test_settings_value_coercion(name, raw, expected):
    coerced = coerce_settings_values(SETTINGS_SCHEMA, {name: raw})

    assert coerced == ({} if expected is None else {name: expected})


@pytest.mark.parametrize(
    ("name", "raw", "problem"),
    [*SHARED_REJECTED, ("s", 1, "expected string"), ("m", "pdf", "expected list of enum values"),
     ("m", ["pdf", 1], "expected list of enum values"), ("m", ["pdf", " "], "blank option"),
     ("m", ["doc"], "unknown enum option")],
)  # fmt: skip
def test_settings_value_rejections_name_field_and_kind(name, raw, problem):
    with pytest.raises(ValidationFailed) as caught:
        coerce_settings_values(SETTINGS_SCHEMA, {name: raw})

    assert caught.value.message == f"Invalid settings value ({problem})"
    assert caught.value.details == {"field": name, "kind": KINDS[name]}


def test_unknown_settings_keys_are_listed_sorted():
    with pytest.raises(ValidationFailed) as caught:
        coerce_settings_values(SETTINGS_SCHEMA, {"b": True, "y": 1, "x": 2})

    assert caught.value.message == "Unknown settings keys"
    assert caught.value.details == {"unknown_keys": ["x", "y"]}


def test_settings_without_a_schema_accept_only_nothing():
    assert coerce_settings_values(None, {}) == {}
    assert coerce_settings_values(None, None) == {}
    with pytest.raises(ValidationFailed, match="Unknown settings keys"):
        coerce_settings_values(None, {"a": 1})
    with pytest.raises(ValidationFailed, match="settings must be a JSON object"):
        coerce_settings_values(SETTINGS_SCHEMA, "x")


def test_the_file_field_limit_follows_the_upload_setting(settings):
    settings.UPLOAD_MAX_FILES = 3

    assert normalize_input_schema([file_field(max=3)])[0]["max"] == 3
    assert input_issues([file_field(max=4)])[0]["path"] == "/0/max"
