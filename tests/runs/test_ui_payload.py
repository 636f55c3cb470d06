"""The UI payload normaliser (behaviour §1.10, §2.3, §3.3, §7.7; §9 items 24 and 25)."""

import json
import time
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.runs.ui_payload import (
    CURATED_POLICY,
    DEFAULT_POLICY,
    NormalizationError,
    failure_payload,
    normalize_result,
)
from apps.tools.schemas import canonical_json

KiB = 1024
PREFIX = "System notice: "
OPTIONS = [{"value": "a", "label": "A"}, {"value": "b", "label": "B"}]


def normalize(outputs=None, next_actions=None, state=None, policy=DEFAULT_POLICY):
    return normalize_result(outputs=outputs, next_actions=next_actions, state=state, policy=policy)


def payload_of(**kwargs):
    return normalize(**kwargs).ui_payload


def notices(payload):
    return [
        output["message"][len(PREFIX) :]
        for output in payload["outputs"]
        if output["kind"] == "notice" and output["message"].startswith(PREFIX)
    ]


def tool_outputs(payload):
    return [
        output
        for output in payload["outputs"]
        if not (output["kind"] == "notice" and output["message"].startswith(PREFIX))
    ]


def size(value):
    return len(canonical_json(value))


def action(action_id, **overrides):
    return {
        "action_id": action_id,
        "label": action_id.title(),
        "kind": "form",
        "fields": [],
        "prefill": {},
        **overrides,
    }


def reversed_keys(value):
    """The same JSON value with every object's keys in reverse insertion order."""
    if isinstance(value, dict):
        return {key: reversed_keys(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [reversed_keys(item) for item in value]
    return value


# Policy profiles (§1.10 table)


def test_default_policy_profile_values():
    policy = DEFAULT_POLICY
    assert (policy.state_max_bytes, policy.ui_payload_max_bytes) == (64 * KiB, 256 * KiB)
    assert (policy.max_outputs, policy.max_next_actions, policy.max_fields_per_action) == (
        50,
        10,
        25,
    )
    assert (policy.notice_max_bytes, policy.markdown_max_bytes) == (8 * KiB, 64 * KiB)
    assert policy.html_sandboxed_max_bytes == 96 * KiB
    assert (policy.table_max_rows, policy.table_max_columns, policy.table_cell_max_bytes) == (
        750,
        40,
        512,
    )
    assert (
        policy.json_max_bytes,
        policy.json_max_depth,
        policy.json_max_keys,
        policy.json_max_array_length,
    ) == (96 * KiB, 10, 1000, 2000)
    assert (policy.enum_max_options, policy.multi_enum_max_options) == (100, 200)
    assert policy.vega_lite_max_bytes == 0
    assert policy.allowed_output_kinds == {"notice", "markdown", "table", "json", "html_sandboxed"}


def test_curated_policy_profile_values():
    policy = CURATED_POLICY
    assert (policy.state_max_bytes, policy.ui_payload_max_bytes) == (256 * KiB, 512 * KiB)
    assert (policy.max_outputs, policy.max_next_actions, policy.max_fields_per_action) == (
        150,
        25,
        60,
    )
    assert (policy.table_max_rows, policy.table_max_columns, policy.table_cell_max_bytes) == (
        2500,
        80,
        1024,
    )
    assert (policy.json_max_bytes, policy.json_max_depth) == (256 * KiB, 20)
    assert (policy.json_max_keys, policy.json_max_array_length) == (5000, 10000)
    assert (policy.enum_max_options, policy.multi_enum_max_options) == (300, 600)
    assert policy.vega_lite_max_bytes == 256 * KiB
    assert "vega_lite" in policy.allowed_output_kinds


# Shape


def test_valid_result_keeps_every_output_and_action_in_canonical_shape():
    fields = [
        {"kind": "string", "name": "title", "label": "Title"},
        {"kind": "text", "name": "notes", "label": "Notes"},
        {"kind": "integer", "name": "count", "label": "Count"},
        {"kind": "number", "name": "ratio", "label": "Ratio"},
        {"kind": "boolean", "name": "confirm", "label": "Confirm"},
        {"kind": "enum", "name": "mode", "label": "Mode", "options": OPTIONS},
        {"kind": "multi_enum", "name": "tags", "label": "Tags", "options": OPTIONS},
    ]
    prefill = {
        "title": "T",
        "notes": "",
        "count": 3,
        "ratio": 0.5,
        "confirm": True,
        "mode": "b",
        "tags": ["a", "b"],
    }
    outputs = [
        {"kind": "notice", "level": "info", "message": "3 rows processed"},
        {"kind": "markdown", "markdown": "# Hi"},
        {"kind": "html_sandboxed", "html": "<p>x</p>"},
        {
            "kind": "table",
            "title": "T",
            "columns": [{"key": "10", "label": "Ten"}, {"key": "2", "label": "Two"}],
            "rows": [{"10": "x", "2": 1}, {"10": None, "2": 2.5}, {"2": False}],
        },
        {"kind": "json", "title": None, "value": {"b": [1, {"c": None}], "a": "x"}},
    ]
    result = normalize(
        outputs=outputs,
        next_actions=[action("confirm", fields=fields, prefill=prefill)],
        state={"step": 1},
    )

    assert result.ui_payload == {
        "contract_version": 2,
        "outputs": outputs,
        "next_actions": [action("confirm", fields=fields, prefill=prefill)],
    }
    assert result.state == {"step": 1}
    # Declared column order survives (the demo-regression-table check).
    assert [column["key"] for column in result.ui_payload["outputs"][3]["columns"]] == ["10", "2"]


def test_nothing_gives_an_empty_payload_and_no_state():
    result = normalize()

    assert result.ui_payload == {"contract_version": 2, "outputs": [], "next_actions": []}
    assert result.state is None


def test_unknown_keys_are_ignored_and_defaults_filled():
    payload = payload_of(
        outputs=[{"kind": "markdown", "markdown": "x", "extra": 1}],
        next_actions=[
            {
                "action_id": "go",
                "label": " Go ",
                "fields": [
                    {
                        "kind": "enum",
                        "name": " mode ",
                        "label": "Mode",
                        "placeholder": "x",
                        "options": [{"value": "a", "label": "A", "icon": "i"}],
                    }
                ],
            }
        ],
    )

    assert payload["outputs"] == [{"kind": "markdown", "markdown": "x"}]
    assert payload["next_actions"] == [
        {
            "action_id": "go",
            "label": "Go",
            "kind": "form",
            "fields": [{"kind": "enum", "name": "mode", "label": "Mode", "options": [OPTIONS[0]]}],
            "prefill": {},
        }
    ]


# The original's normaliser tests (§7.7), rewritten


def test_normalizer_enforces_markdown_table_html_caps_and_adds_notice():
    policy = replace(
        DEFAULT_POLICY,
        markdown_max_bytes=10,
        html_sandboxed_max_bytes=12,
        table_max_rows=2,
        table_max_columns=1,
        table_cell_max_bytes=4,
    )
    table = {
        "kind": "table",
        "columns": [{"key": "a", "label": "A"}, {"key": "b", "label": "B"}],
        "rows": [{"a": "abcdefgh", "b": 1}, {"a": 2}, {"a": 3}],
    }
    payload = payload_of(
        outputs=[
            {"kind": "markdown", "markdown": "m" * 100},
            {"kind": "html_sandboxed", "html": "<p>" + "h" * 100},
            table,
        ],
        policy=policy,
    )

    markdown, html, capped, notice = payload["outputs"]
    assert markdown["markdown"] == "m" * 10
    assert html["html"] == "<p>" + "h" * 9
    assert capped["columns"] == [{"key": "a", "label": "A"}]
    assert capped["rows"] == [{"a": "abcd"}, {"a": 2}]
    assert notice["kind"] == "notice"
    assert notice["level"] == "warning"
    assert notice["message"].startswith(
        "System notice: Outputs were shortened to fit the limits: 3"
    )
    assert "rows cut to 2" in notice["message"]


def test_normalizer_is_deterministic_across_input_ordering():
    policy = replace(DEFAULT_POLICY, json_max_keys=2, max_fields_per_action=3)
    result = {
        "outputs": [
            {"level": "info", "message": "m", "kind": "notice"},
            {
                "kind": "table",
                "columns": [{"key": "z", "label": "Z"}, {"label": "A", "key": "a"}],
                "rows": [{"z": 1, "a": 2, "q": 3}],
            },
            {"kind": "json", "value": {"z": 1, "m": {"y": 1, "b": 2, "a": 3}, "a": 2}},
            {"kind": "bogus"},
        ],
        "next_actions": [
            action(
                "go",
                fields=[{"kind": "integer", "name": "n", "label": "N"}],
                prefill={"zz": 1, "n": "x", "aa": 2, "mm": 3},
            )
        ],
        "state": {"z": {"y": 1, "x": 2, "c": 3}, "b": [1, 2], "a": "first"},
    }

    first = normalize(**result, policy=policy)
    second = normalize(**reversed_keys(result), policy=policy)

    assert canonical_json(first.ui_payload) == canonical_json(second.ui_payload)
    assert canonical_json(first.state) == canonical_json(second.state)
    # Keys are capped in sorted order, so which ones survive does not depend on input order.
    assert first.ui_payload["outputs"][2]["value"] == {"a": 2, "m": {"a": 3, "b": 2}}
    assert list(first.state) == ["a", "b", "z"]


def test_normalizer_strips_invalid_action_prefill_and_adds_notice():
    fields = [
        {"kind": "integer", "name": "threshold", "label": "Min size"},
        {"kind": "enum", "name": "mode", "label": "Mode", "options": OPTIONS},
    ]
    payload = payload_of(
        next_actions=[
            action(
                "refine",
                fields=fields,
                prefill={"threshold": "1000", "mode": "zzz", "ghost": 1, "other": 2},
            )
        ]
    )

    assert payload["next_actions"][0]["prefill"] == {}
    (message,) = notices(payload)
    assert message.startswith("Invalid prefill entries were dropped: 4 (e.g. ")
    # At most three examples, in sorted key order.
    assert message.count("next_actions[0].prefill[") == 3
    assert "prefill['ghost']: unknown field" in message
    assert "prefill['mode']: expected one of the option values, got 'zzz'" in message
    assert "prefill['other']" in message
    assert "threshold" not in message


def test_normalizer_raises_on_action_id_conflict():
    with pytest.raises(NormalizationError, match="'go' more than once"):
        normalize(next_actions=[action("go"), action("stop"), action("go")])


# Outputs


def test_malformed_outputs_are_dropped_with_one_notice_and_three_examples():
    payload = payload_of(
        outputs=[
            "not an object",
            {"message": "no kind"},
            {"kind": "chart"},
            {"kind": "notice", "level": "debug", "message": "x"},
            {"kind": "markdown", "markdown": "   "},
            {"kind": "table", "columns": [], "rows": []},
            {"kind": "json", "title": "no value"},
            {"kind": "markdown", "markdown": "kept"},
        ]
    )

    assert tool_outputs(payload) == [{"kind": "markdown", "markdown": "kept"}]
    (message,) = notices(payload)
    assert message.startswith("Invalid outputs were dropped: 7 (e.g. outputs[0]: ")
    assert "outputs[1]: unknown kind None" in message
    assert "outputs[2]: unknown kind 'chart'" in message
    assert "outputs[3]" not in message


@pytest.mark.parametrize("policy", [DEFAULT_POLICY, CURATED_POLICY])
def test_vega_lite_is_always_dropped_with_a_notice(policy):
    payload = payload_of(outputs=[{"kind": "vega_lite", "spec": {}}] * 2, policy=policy)

    assert tool_outputs(payload) == []
    assert notices(payload) == [
        "vega_lite outputs are blocked until platform restrictions are implemented; 2 dropped."
    ]


def test_output_kinds_the_policy_does_not_allow_are_dropped():
    policy = replace(DEFAULT_POLICY, allowed_output_kinds=frozenset({"notice", "markdown"}))
    payload = payload_of(
        outputs=[{"kind": "html_sandboxed", "html": "<p>"}, {"kind": "markdown", "markdown": "m"}],
        policy=policy,
    )

    assert tool_outputs(payload) == [{"kind": "markdown", "markdown": "m"}]
    assert notices(payload) == [
        "Outputs of a kind not allowed for this tool were dropped: 1 (e.g. outputs[0]: "
        "html_sandboxed)."
    ]


@pytest.mark.parametrize("outputs", [{"kind": "markdown"}, "text", 3])
def test_outputs_that_are_not_a_list_give_a_notice(outputs):
    payload = payload_of(outputs=outputs)

    assert tool_outputs(payload) == []
    (message,) = notices(payload)
    assert message.startswith("outputs must be an array, not ")


def test_ten_thousand_outputs_cost_little_and_respect_the_limit():
    outputs = [{"kind": "markdown", "markdown": f"item {index}"} for index in range(10_000)]

    started = time.monotonic()
    payload = payload_of(outputs=outputs)
    elapsed = time.monotonic() - started

    assert len(payload["outputs"]) == 50
    assert tool_outputs(payload) == outputs[:49]
    assert notices(payload) == ["9951 output(s) over the limit of 50 were dropped."]
    assert elapsed < 1


def test_notices_are_reserved_before_tool_outputs():
    policy = replace(DEFAULT_POLICY, max_outputs=3)
    markdown = [{"kind": "markdown", "markdown": str(index)} for index in range(5)]
    payload = payload_of(outputs=[markdown[0], {"kind": "nope"}, *markdown[1:]], policy=policy)

    assert len(payload["outputs"]) == 3
    assert tool_outputs(payload) == [markdown[0]]
    assert notices(payload)[0].startswith("Invalid outputs were dropped: 1")
    # 3 entries beyond the window, plus one processed output that lost its slot to a notice.
    assert notices(payload)[1] == "4 output(s) over the limit of 3 were dropped."


def test_system_notices_come_after_tool_outputs():
    payload = payload_of(outputs=[{"kind": "chart"}, {"kind": "markdown", "markdown": "m"}])

    assert [output["kind"] for output in payload["outputs"]] == ["markdown", "notice"]
    assert payload["outputs"][1]["level"] == "warning"


@pytest.mark.parametrize("cap", range(12))
def test_text_is_cut_on_a_utf8_character_boundary(cap):
    text = "aé€😀" * 3  # characters of 1, 2, 3 and 4 bytes
    policy = replace(DEFAULT_POLICY, markdown_max_bytes=cap)
    outputs = tool_outputs(
        payload_of(outputs=[{"kind": "markdown", "markdown": text}], policy=policy)
    )

    kept = outputs[0]["markdown"] if outputs else ""
    assert text.startswith(kept)
    assert len(kept.encode()) <= cap
    # The longest prefix that fits: one more character would not.
    assert len(text[: len(kept) + 1].encode()) > cap


def test_huge_multibyte_strings_are_cut_to_the_byte_caps():
    payload = payload_of(
        outputs=[
            {"kind": "notice", "level": "info", "message": "€" * 100_000},
            {"kind": "html_sandboxed", "html": "😀" * 100_000},
        ]
    )

    notice, html, shortened = payload["outputs"]
    assert notice["message"] == "€" * (8 * KiB // 3)
    assert html["html"] == "😀" * (96 * KiB // 4)
    assert shortened["message"].startswith(PREFIX + "Outputs were shortened to fit the limits: 2")


def test_text_that_is_blank_once_cut_is_dropped():
    policy = replace(DEFAULT_POLICY, markdown_max_bytes=3)
    payload = payload_of(outputs=[{"kind": "markdown", "markdown": "   visible"}], policy=policy)

    assert tool_outputs(payload) == []
    assert "markdown is blank once cut to 3 bytes" in notices(payload)[0]


def test_lone_surrogates_become_replacement_characters():
    decoded = json.loads(
        '{"outputs": [{"kind": "markdown", "markdown": "a\\ud800b"},'
        ' {"kind": "json", "value": {"k\\udc00": "v\\ud800"}}],'
        ' "state": {"s\\ud800": "\\ud83d\\ude00"}}'
    )
    result = normalize(outputs=decoded["outputs"], state=decoded["state"])

    assert result.ui_payload["outputs"][0]["markdown"] == "a\ufffdb"
    assert result.ui_payload["outputs"][1]["value"] == {"k\ufffd": "v\ufffd"}
    assert result.state == {"s\ufffd": "😀"}
    canonical_json(result.ui_payload)  # encodable


# Tables


def test_table_keeps_declared_cells_and_scalars_and_drops_the_rest():
    table = {
        "kind": "table",
        "columns": [{"key": "a", "label": "A"}, {"key": "b", "label": "B"}],
        "rows": [
            {"a": 1, "b": True, "undeclared": "x"},
            {"a": None, "b": 1.5},
            {"a": [1, 2], "b": {"x": 1}},
            {"a": float("nan"), "b": "ok"},
            {},
        ],
    }
    payload = payload_of(outputs=[table])

    assert tool_outputs(payload)[0]["rows"] == [
        {"a": 1, "b": True},
        {"a": None, "b": 1.5},
        {},
        {"b": "ok"},
        {},
    ]
    assert "3 cell(s) dropped (not a string, number, boolean or null)" in notices(payload)[0]


@pytest.mark.parametrize(
    "table",
    [
        {"columns": [{"key": "a", "label": "A"}, {"key": "a", "label": "Again"}], "rows": []},
        {"columns": [{"key": " ", "label": "Blank"}], "rows": []},
        {"columns": [{"key": "a"}], "rows": []},
        {"columns": "a", "rows": []},
        {"columns": [{"key": "a", "label": "A"}], "rows": {"a": 1}},
        {"columns": [{"key": "a", "label": "A"}], "rows": [["not", "an", "object"]]},
        {"columns": [{"key": "a", "label": "A"}], "rows": [], "title": 3},
        {"columns": [{"key": "k" * 513, "label": "Long"}], "rows": []},
    ],
)
def test_malformed_tables_are_dropped(table):
    payload = payload_of(outputs=[{"kind": "table", **table}])

    assert tool_outputs(payload) == []
    assert notices(payload)[0].startswith("Invalid outputs were dropped: 1")


# JSON outputs


def nested_lists(depth):
    value = []
    for _ in range(depth - 1):
        value = [value]
    return value


def test_deeply_nested_json_is_cut_to_the_depth_cap():
    payload = payload_of(outputs=[{"kind": "json", "value": nested_lists(100_000)}])

    value = tool_outputs(payload)[0]["value"]
    # Ten levels of arrays survive; the eleventh becomes null.
    assert canonical_json(value) == b"[" * 10 + b"null" + b"]" * 10
    assert "value cut to the JSON depth, key and array limits" in notices(payload)[0]


def test_json_keys_and_arrays_are_capped():
    policy = replace(DEFAULT_POLICY, json_max_keys=2, json_max_array_length=3)
    value = {"c": [1, 2, 3, 4, 5], "a": 1, "b": 2}
    payload = payload_of(outputs=[{"kind": "json", "value": value}], policy=policy)

    assert tool_outputs(payload)[0]["value"] == {"a": 1, "b": 2}
    payload = payload_of(outputs=[{"kind": "json", "value": value["c"]}], policy=policy)
    assert tool_outputs(payload)[0]["value"] == [1, 2, 3]


def test_json_over_the_byte_cap_is_shrunk_to_fit():
    value = {"rows": [{"name": f"row {index}", "text": "x" * 200} for index in range(1500)]}
    payload = payload_of(outputs=[{"kind": "json", "title": "Big", "value": value}])

    shrunk = tool_outputs(payload)[0]
    assert shrunk["title"] == "Big"
    assert size(shrunk["value"]) <= 96 * KiB
    assert shrunk["value"]["rows"][0] == value["rows"][0]
    assert "value shrunk to 98304 bytes" in notices(payload)[0]


def test_json_that_cannot_fit_is_dropped():
    policy = replace(DEFAULT_POLICY, json_max_bytes=3)
    payload = payload_of(outputs=[{"kind": "json", "value": {"a": 1}}], policy=policy)

    assert tool_outputs(payload) == []
    assert "json value does not fit in 3 bytes" in notices(payload)[0]


def test_nan_that_python_json_accepts_becomes_null():
    # json.loads accepts NaN and Infinity by default, so a hostile result.json can carry them.
    value = json.loads('{"a": NaN, "b": [Infinity, 1]}')
    payload = payload_of(outputs=[{"kind": "json", "value": value}], state=value)

    assert tool_outputs(payload)[0]["value"] == {"a": None, "b": [None, 1]}
    canonical_json(payload)


# State


def test_state_keys_are_sorted_and_values_capped():
    policy = replace(DEFAULT_POLICY, json_max_array_length=2)
    result = normalize(state={"b": [1, 2, 3], "a": {"z": 1, "y": 2}}, policy=policy)

    assert list(result.state) == ["a", "b"]
    assert result.state == {"a": {"y": 2, "z": 1}, "b": [1, 2]}
    (message,) = notices(result.ui_payload)
    assert message.startswith("state values were cut to 10 levels, 1000 keys per object")
    assert "1 key(s) (e.g. 'b')" in message


@pytest.mark.parametrize("state", [[1, 2], "text", 3, True])
def test_state_that_is_not_an_object_is_discarded_with_a_notice(state):
    result = normalize(state=state)

    assert result.state is None
    assert notices(result.ui_payload)[0].startswith("state must be an object or null, not ")


def test_blank_state_keys_are_dropped():
    result = normalize(state={"": 1, "  ": 2, "ok": 3})

    assert result.state == {"ok": 3}
    assert notices(result.ui_payload) == [
        "state keys must be non-blank, distinct strings; 2 dropped."
    ]


def test_state_budget_keeps_the_longest_alphabetical_prefix_that_fits():
    state = {f"k{index:02d}": "v" * index for index in range(10)}
    fits_six = size({key: state[key] for key in sorted(state)[:6]})

    exact = normalize(state=state, policy=replace(DEFAULT_POLICY, state_max_bytes=fits_six))
    one_less = normalize(state=state, policy=replace(DEFAULT_POLICY, state_max_bytes=fits_six - 1))

    assert list(exact.state) == ["k00", "k01", "k02", "k03", "k04", "k05"]
    assert size(exact.state) == fits_six
    assert list(one_less.state) == ["k00", "k01", "k02", "k03", "k04"]
    assert notices(exact.ui_payload) == [
        f"state exceeded {fits_six} bytes; kept the first 6 of 10 keys in alphabetical order."
    ]


def test_state_within_budget_is_kept_whole_without_notice():
    state = {f"k{index}": index for index in range(10)}
    result = normalize(state=state, policy=replace(DEFAULT_POLICY, state_max_bytes=size(state)))

    assert result.state == state
    assert notices(result.ui_payload) == []


# Whole-payload budget


def budget_case(limit, outputs=6, actions=3):
    policy = replace(DEFAULT_POLICY, ui_payload_max_bytes=limit)
    markdown = [{"kind": "markdown", "markdown": f"{index}" * 300} for index in range(outputs)]
    offered = [action(f"action-{index}") for index in range(actions)]
    return markdown, offered, payload_of(outputs=markdown, next_actions=offered, policy=policy)


def test_payload_budget_drops_trailing_outputs_first_and_says_so():
    markdown, offered, payload = budget_case(1500)

    assert size(payload) <= 1500
    kept = tool_outputs(payload)
    assert 0 < len(kept) < len(markdown)
    assert kept == markdown[: len(kept)]
    assert payload["next_actions"] == offered
    assert notices(payload) == ["ui_payload exceeded 1500 bytes and was truncated."]
    assert payload["outputs"][-1]["message"].startswith(PREFIX + "ui_payload exceeded")


def test_payload_budget_drops_trailing_actions_after_all_outputs():
    _, offered, payload = budget_case(360)

    assert size(payload) <= 360
    assert tool_outputs(payload) == []
    assert 0 < len(payload["next_actions"]) < len(offered)
    assert payload["next_actions"] == offered[: len(payload["next_actions"])]
    assert notices(payload) == ["ui_payload exceeded 360 bytes and was truncated."]


def test_payload_budget_drops_other_notices_before_its_own():
    policy = replace(DEFAULT_POLICY, ui_payload_max_bytes=200)
    payload = payload_of(
        outputs=[{"kind": "chart"}, {"kind": "markdown", "markdown": "m" * 500}], policy=policy
    )

    assert size(payload) <= 200
    assert notices(payload) == ["ui_payload exceeded 200 bytes and was truncated."]


def test_payload_budget_too_small_for_any_notice_leaves_the_empty_payload():
    _, _, payload = budget_case(60)

    assert payload == {"contract_version": 2, "outputs": [], "next_actions": []}


@pytest.mark.parametrize("limit", range(53, 3000, 41))
def test_payload_budget_always_holds(limit):
    markdown, offered, payload = budget_case(limit)

    assert size(payload) <= limit
    kept = tool_outputs(payload)
    assert kept == markdown[: len(kept)]
    assert payload["next_actions"] == offered[: len(payload["next_actions"])]
    # Actions are only dropped once no tool output is left.
    assert len(payload["next_actions"]) == len(offered) or not kept


def budget_notice(limit):
    message = f"{PREFIX}ui_payload exceeded {limit} bytes and was truncated."
    return {"kind": "notice", "level": "warning", "message": message}


def slot_case(extra):
    """Two outputs in two slots, the first sized so that it and the notice fill the budget."""
    limit = 300
    notice = budget_notice(limit)
    empty = size({"contract_version": 2, "outputs": [], "next_actions": []})
    room = limit - empty - 1 - size(notice) - size({"kind": "markdown", "markdown": ""})
    first = {"kind": "markdown", "markdown": "x" * (room + extra)}
    policy = replace(DEFAULT_POLICY, max_outputs=2, ui_payload_max_bytes=limit)
    payload = payload_of(
        outputs=[first, {"kind": "markdown", "markdown": "y" * 200}], policy=policy
    )
    return limit, first, notice, payload


def test_payload_budget_notice_takes_a_slot_when_outputs_are_full():
    limit, first, notice, payload = slot_case(0)

    # Both outputs would not fit with the notice in two slots, so the second makes room.
    assert payload["outputs"] == [first, notice]
    assert size(payload) == limit


def test_payload_budget_is_exact_to_the_byte():
    limit, _, notice, payload = slot_case(1)

    assert payload["outputs"] == [notice]
    assert size(payload) < limit


def test_payload_budget_fits_a_lone_notice_exactly():
    empty = size({"contract_version": 2, "outputs": [], "next_actions": []})
    limit = empty + size(budget_notice(100))  # a three-digit limit, like 100
    policy = replace(DEFAULT_POLICY, ui_payload_max_bytes=limit)
    payload = payload_of(outputs=[{"kind": "markdown", "markdown": "m" * 400}], policy=policy)

    assert payload["outputs"] == [budget_notice(limit)]
    assert size(payload) == limit


def test_payload_budget_with_no_output_slots_drops_everything_quietly():
    policy = replace(DEFAULT_POLICY, max_outputs=0, ui_payload_max_bytes=60)
    payload = payload_of(
        outputs=[{"kind": "chart"}], next_actions=[action("go")], state=[1], policy=policy
    )

    assert payload == {"contract_version": 2, "outputs": [], "next_actions": []}


# next_actions


def test_author_order_of_actions_is_kept():
    payload = payload_of(next_actions=[action("continue"), action("reset"), action("finish")])

    assert [offered["action_id"] for offered in payload["next_actions"]] == [
        "continue",
        "reset",
        "finish",
    ]


def test_action_id_up_to_64_characters_is_kept_and_longer_is_dropped():
    payload = payload_of(next_actions=[action("a" * 64), action("b" * 65)])

    assert [offered["action_id"] for offered in payload["next_actions"]] == ["a" * 64]
    assert notices(payload) == [
        "Invalid next_actions were dropped: 1 (e.g. next_actions[1]: action_id is longer than "
        "64 characters)."
    ]


@pytest.mark.parametrize(
    "entry",
    [
        "go",
        {"label": "No id"},
        {"action_id": "  ", "label": "Blank id"},
        {"action_id": 7, "label": "Number id"},
        {"action_id": "go", "label": " "},
        {"action_id": "go", "label": "Go", "kind": "link"},
        {"action_id": "go", "label": "Go", "fields": {"kind": "string"}},
    ],
)
def test_malformed_actions_are_dropped_with_a_notice(entry):
    payload = payload_of(next_actions=[entry, action("ok")])

    assert [offered["action_id"] for offered in payload["next_actions"]] == ["ok"]
    assert notices(payload)[0].startswith("Invalid next_actions were dropped: 1 (e.g. ")


def test_actions_over_the_limit_are_dropped():
    payload = payload_of(next_actions=[action(f"a{index}") for index in range(12)])

    assert len(payload["next_actions"]) == 10
    assert notices(payload) == ["2 next_action(s) over the limit of 10 were dropped."]


def test_next_actions_that_are_not_a_list_give_a_notice():
    payload = payload_of(next_actions={"action_id": "go"})

    assert payload["next_actions"] == []
    assert notices(payload) == ["next_actions must be an array, not object; no action offered."]


def test_bad_fields_are_dropped_and_the_action_kept():
    fields = [
        {"kind": "file", "name": "upload", "label": "Upload"},
        {"kind": "slider", "name": "s", "label": "S"},
        {"kind": "string", "name": "title", "label": "Title"},
        {"kind": "string", "name": "title", "label": "Again"},
        {"kind": "enum", "name": "mode", "label": "Mode", "options": []},
        {"kind": "string", "name": " ", "label": "Blank"},
        "not a field",
    ]
    payload = payload_of(next_actions=[action("go", fields=fields)])

    assert payload["next_actions"][0]["fields"] == [
        {"kind": "string", "name": "title", "label": "Title"}
    ]
    (message,) = notices(payload)
    assert message.startswith("Action fields were dropped or shortened: 6 (e.g. ")
    assert "next_actions[0].fields[0]: unknown field kind 'file'" in message


def test_fields_and_options_are_capped():
    policy = replace(DEFAULT_POLICY, max_fields_per_action=2, enum_max_options=2)
    options = [{"value": str(index), "label": str(index)} for index in range(5)]
    fields = [
        {"kind": "enum", "name": "e", "label": "E", "options": options},
        {"kind": "multi_enum", "name": "m", "label": "M", "options": options},
        {"kind": "string", "name": "s", "label": "S"},
    ]
    payload = payload_of(next_actions=[action("go", fields=fields)], policy=policy)

    enum, multi = payload["next_actions"][0]["fields"]
    assert enum["options"] == options[:2]
    assert multi["options"] == options  # multi_enum has its own, larger cap
    (message,) = notices(payload)
    assert "next_actions[0].fields: 1 over the limit of 2" in message
    assert "next_actions[0].fields[0].options: cut to 2" in message


@pytest.mark.parametrize(
    ("kind", "value", "kept"),
    [
        ("string", "text", True),
        ("string", "", True),
        ("string", 3, False),
        ("text", "line\nline", True),
        ("text", None, False),
        ("integer", 3, True),
        ("integer", True, False),
        ("integer", 3.0, False),
        ("integer", "3", False),
        ("number", 3, True),
        ("number", 2.5, True),
        ("number", False, False),
        ("number", "2.5", False),
        ("boolean", False, True),
        ("boolean", "true", False),
        ("boolean", 1, False),
        ("enum", "a", True),
        ("enum", "z", False),
        ("enum", ["a"], False),
        ("multi_enum", ["a", "b"], True),
        ("multi_enum", [], True),
        ("multi_enum", ["a", "z"], False),
        ("multi_enum", "a", False),
        ("multi_enum", ["a", 1], False),
    ],
)
def test_prefill_is_validated_against_the_field_kind(kind, value, kept):
    field = {"kind": kind, "name": "f", "label": "F"}
    if kind in ("enum", "multi_enum"):
        field["options"] = OPTIONS
    payload = payload_of(next_actions=[action("go", fields=[field], prefill={"f": value})])

    assert payload["next_actions"][0]["prefill"] == ({"f": value} if kept else {})
    assert bool(notices(payload)) is not kept


def test_prefill_that_is_not_an_object_is_dropped():
    fields = [{"kind": "string", "name": "f", "label": "F"}]
    payload = payload_of(next_actions=[action("go", fields=fields, prefill=["f"])])

    assert payload["next_actions"][0]["prefill"] == {}
    assert "next_actions[0].prefill: must be an object, not array" in notices(payload)[0]


# Failed runs


def test_failure_payload_is_one_error_notice():
    assert failure_payload("Tool execution failed (ValueError).") == {
        "contract_version": 2,
        "outputs": [
            {"kind": "notice", "level": "error", "message": "Tool execution failed (ValueError)."}
        ],
        "next_actions": [],
    }


def test_failure_payload_cuts_long_messages_and_fills_blank_ones():
    long_message = failure_payload("ö" * 10_000)["outputs"][0]["message"]
    assert long_message == "ö" * (8 * KiB // 2)
    assert failure_payload("  ")["outputs"][0]["message"] == "The run failed."


# Properties

SMALL_POLICY = replace(
    DEFAULT_POLICY,
    state_max_bytes=300,
    ui_payload_max_bytes=1500,
    max_outputs=6,
    max_next_actions=3,
    max_fields_per_action=3,
    notice_max_bytes=120,
    markdown_max_bytes=40,
    html_sandboxed_max_bytes=40,
    table_max_rows=3,
    table_max_columns=2,
    table_cell_max_bytes=6,
    json_max_bytes=120,
    json_max_depth=3,
    json_max_keys=3,
    json_max_array_length=3,
    enum_max_options=2,
    multi_enum_max_options=2,
)

scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=12,
)
names = st.sampled_from(["a", "b", "c", "d"])
options = st.lists(
    st.fixed_dictionaries({"value": names, "label": st.text(min_size=1, max_size=4)}), max_size=4
)
fields = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(
            ["string", "text", "integer", "number", "boolean", "enum", "multi_enum", "x"]
        ),
        "name": names,
        "label": st.sampled_from(["L", " ", "Label"]),
    },
    optional={"options": options},
)
actions = st.fixed_dictionaries(
    {
        "action_id": st.sampled_from(["go", "stop", "x" * 70, ""]),
        "label": st.sampled_from(["Go", ""]),
    },
    optional={
        "fields": st.lists(fields, max_size=4),
        "prefill": st.dictionaries(names, json_values, max_size=3),
        "kind": st.just("form"),
    },
)
outputs = st.one_of(
    st.fixed_dictionaries(
        {
            "kind": st.just("notice"),
            "level": st.sampled_from(["info", "error", "x"]),
            "message": st.text(max_size=60),
        }
    ),
    st.fixed_dictionaries({"kind": st.just("markdown"), "markdown": st.text(max_size=60)}),
    st.fixed_dictionaries({"kind": st.just("html_sandboxed"), "html": st.text(max_size=60)}),
    st.fixed_dictionaries(
        {"kind": st.just("json"), "value": json_values}, optional={"title": st.text(max_size=5)}
    ),
    st.fixed_dictionaries(
        {
            "kind": st.just("table"),
            "columns": st.lists(
                st.fixed_dictionaries({"key": names, "label": st.text(max_size=8)}), max_size=3
            ),
            "rows": st.lists(st.dictionaries(names, json_values, max_size=4), max_size=5),
        }
    ),
    st.fixed_dictionaries({"kind": st.sampled_from(["vega_lite", "chart"])}),
    json_values,
)
results = st.fixed_dictionaries(
    {
        "outputs": st.lists(outputs, max_size=9) | json_values,
        "next_actions": st.lists(actions, max_size=4) | json_values,
        "state": st.dictionaries(st.text(max_size=6), json_values, max_size=6) | json_values,
    }
)
PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def normalize_or_none(result):
    try:
        return normalize(**result, policy=SMALL_POLICY)
    except NormalizationError:
        return None


@PROPERTY_SETTINGS
@given(results)
def test_any_json_result_normalises_within_the_budgets(result):
    normalized = normalize_or_none(result)
    if normalized is None:
        return
    assert size(normalized.ui_payload) <= SMALL_POLICY.ui_payload_max_bytes
    assert len(normalized.ui_payload["outputs"]) <= SMALL_POLICY.max_outputs
    assert len(normalized.ui_payload["next_actions"]) <= SMALL_POLICY.max_next_actions
    if normalized.state is not None:
        assert size(normalized.state) <= SMALL_POLICY.state_max_bytes


@PROPERTY_SETTINGS
@given(results)
def test_normalising_is_idempotent(result):
    first = normalize_or_none(result)
    if first is None:
        return
    second = normalize(
        outputs=first.ui_payload["outputs"],
        next_actions=first.ui_payload["next_actions"],
        state=first.state,
        policy=SMALL_POLICY,
    )

    assert second == first


@PROPERTY_SETTINGS
@given(results)
def test_normalising_ignores_input_key_order(result):
    first = normalize_or_none(result)
    second = normalize_or_none(reversed_keys(result))

    if first is None:
        assert second is None
        return
    assert canonical_json(first.ui_payload) == canonical_json(second.ui_payload)
    assert canonical_json(first.state) == canonical_json(second.state)
