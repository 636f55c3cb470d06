"""Budgets of the UI payload normaliser (behaviour §1.10, policy table)."""

from dataclasses import dataclass

KiB = 1024

# Every output kind the contract knows; a policy allows a subset.
OUTPUT_KINDS = frozenset({"notice", "markdown", "table", "json", "html_sandboxed", "vega_lite"})


@dataclass(frozen=True)
class UiPolicy:
    """Caps applied to one run's outputs, next_actions and state. Sizes are canonical JSON bytes."""

    allowed_output_kinds: frozenset[str]
    state_max_bytes: int
    ui_payload_max_bytes: int
    max_outputs: int
    max_next_actions: int
    max_fields_per_action: int
    notice_max_bytes: int
    markdown_max_bytes: int
    html_sandboxed_max_bytes: int
    table_max_rows: int
    table_max_columns: int
    table_cell_max_bytes: int
    json_max_bytes: int
    json_max_depth: int
    json_max_keys: int
    json_max_array_length: int
    # vega_lite is dropped by the normaliser under every policy (§9 item 30); the cap is kept
    # so the curated profile documents the intended limit.
    vega_lite_max_bytes: int
    enum_max_options: int
    multi_enum_max_options: int


# User-authored tools: the only profile used for now.
DEFAULT_POLICY = UiPolicy(
    allowed_output_kinds=frozenset({"notice", "markdown", "table", "json", "html_sandboxed"}),
    state_max_bytes=64 * KiB,
    ui_payload_max_bytes=256 * KiB,
    max_outputs=50,
    max_next_actions=10,
    max_fields_per_action=25,
    notice_max_bytes=8 * KiB,
    markdown_max_bytes=64 * KiB,
    html_sandboxed_max_bytes=96 * KiB,
    table_max_rows=750,
    table_max_columns=40,
    table_cell_max_bytes=512,
    json_max_bytes=96 * KiB,
    json_max_depth=10,
    json_max_keys=1000,
    json_max_array_length=2000,
    vega_lite_max_bytes=0,
    enum_max_options=100,
    multi_enum_max_options=200,
)

# Repository-shipped apps (not used yet).
CURATED_POLICY = UiPolicy(
    allowed_output_kinds=OUTPUT_KINDS,
    state_max_bytes=256 * KiB,
    ui_payload_max_bytes=512 * KiB,
    max_outputs=150,
    max_next_actions=25,
    max_fields_per_action=60,
    notice_max_bytes=8 * KiB,
    markdown_max_bytes=256 * KiB,
    html_sandboxed_max_bytes=192 * KiB,
    table_max_rows=2500,
    table_max_columns=80,
    table_cell_max_bytes=1024,
    json_max_bytes=256 * KiB,
    json_max_depth=20,
    json_max_keys=5000,
    json_max_array_length=10000,
    vega_lite_max_bytes=256 * KiB,
    enum_max_options=300,
    multi_enum_max_options=600,
)
