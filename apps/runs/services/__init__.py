"""State changes of runs and sessions (one function per use-case)."""

from apps.runs.services.execution import execute_run
from apps.runs.services.finishing import (
    cleanup_run_files,
    finish_run,
    reap_stuck_runs,
    sweep_run_folders,
)
from apps.runs.services.rerun import Rerun, check_rerun, files_removed_message, rerun_tool_run
from apps.runs.services.runtime import (
    ProductionRunRequest,
    production_settings,
    run_published_tool,
    save_production_settings,
    start_production_action,
)
from apps.runs.services.sessions import (
    clean_context,
    get_or_create_session,
    get_session,
    production_settings_context,
    resolve_settings,
    sandbox_settings_context,
    save_settings,
    schema_version,
)
from apps.runs.services.submission import (
    NewRun,
    RunInputs,
    SessionFilesMode,
    create_action_run,
    create_initial_run,
    parse_json_object,
    validate_inputs,
    validate_uploads,
)
from apps.runs.services.usage_instructions import (
    UsageInstructionsState,
    mark_usage_instructions_seen,
    usage_instructions_state,
)

__all__ = [
    "NewRun",
    "ProductionRunRequest",
    "Rerun",
    "RunInputs",
    "SessionFilesMode",
    "UsageInstructionsState",
    "check_rerun",
    "clean_context",
    "cleanup_run_files",
    "create_action_run",
    "create_initial_run",
    "execute_run",
    "files_removed_message",
    "finish_run",
    "get_or_create_session",
    "get_session",
    "mark_usage_instructions_seen",
    "parse_json_object",
    "production_settings",
    "production_settings_context",
    "reap_stuck_runs",
    "rerun_tool_run",
    "resolve_settings",
    "run_published_tool",
    "sandbox_settings_context",
    "save_production_settings",
    "save_settings",
    "schema_version",
    "start_production_action",
    "sweep_run_folders",
    "usage_instructions_state",
    "validate_inputs",
    "validate_uploads",
]
