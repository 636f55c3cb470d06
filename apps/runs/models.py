import uuid
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length, Now, Trim

from apps.projects.models import ProjectRole
from apps.tools.models import Tool, ToolVersion

# `context__length` in the constraints below.
models.CharField.register_lookup(Length)

# Session contexts (`default`, `sandbox:<uuid>`, `settings:<hash>`, ...) are at most this long.
SESSION_CONTEXT_MAX_LENGTH = 64
DEFAULT_SESSION_CONTEXT = "default"
# Per user and tool: the hash of the usage instructions the user has seen (`seen_hash`).
USAGE_INSTRUCTIONS_CONTEXT = "ui:usage_instructions"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    TIMED_OUT = "timed_out", "Timed out"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)
TERMINAL_STATUSES = (
    RunStatus.SUCCEEDED,
    RunStatus.FAILED,
    RunStatus.TIMED_OUT,
    RunStatus.CANCELLED,
)


class RunContext(models.TextChoices):
    SANDBOX = "sandbox", "Sandbox preview"
    PRODUCTION = "production", "Production"


class ToolRun(models.Model):
    """One execution of a tool's code in the runner. Created queued by a service; a worker claims
    it (queued -> running) and finishes it (running -> terminal), each by compare-and-swap."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of its own: `runs_of_tool` starts with the tool (deletes cascade through it), and
    # a plain tool index let the planner read a tool's runs of every user for one user's page.
    tool = models.ForeignKey(Tool, on_delete=models.CASCADE, related_name="runs", db_index=False)
    # The version whose code runs (production), or the draft head a preview was anchored to.
    version = models.ForeignKey(ToolVersion, on_delete=models.CASCADE, related_name="runs")
    # Set for sandbox previews and sandbox actions: the unsaved code that runs. Expired
    # snapshots are deleted; the run row stays, with this set to null.
    snapshot = models.ForeignKey(
        "sandbox.SandboxSnapshot",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="runs",
    )
    context = models.CharField(max_length=16, choices=RunContext.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="tool_runs"
    )
    # The requester's project role when the worker started the run ("" = not a member). The
    # tool's collection calls get exactly the rights of this role (docs/runner.md).
    requester_role = models.CharField(max_length=16, choices=ProjectRole.choices, blank=True)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    # Every run timestamp comes from the database clock (claim and finish use now() too).
    requested_at = models.DateTimeField(db_default=Now())
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Session whose state and files this run reads and writes (`default`, `sandbox:<snapshot>`).
    session_context = models.CharField(max_length=SESSION_CONTEXT_MAX_LENGTH)
    # Session holding the user's settings for this run (memory.json); blank = no settings.
    settings_context = models.CharField(max_length=SESSION_CONTEXT_MAX_LENGTH, blank=True)
    # Action runs: what the user chose, and the session revision the result must replace.
    action_id = models.CharField(max_length=64, blank=True)
    action_input = models.JSONField(default=dict, blank=True)
    expected_state_rev = models.PositiveIntegerField(null=True, blank=True)
    # Input files (name, bytes) and the normalised pre-run form values.
    input_manifest = models.JSONField(default=dict, blank=True)
    input_values = models.JSONField(default=dict, blank=True)
    # Uploaded (or reused) input files replace the session's files when the run finishes.
    store_session_files = models.BooleanField(default=False)
    stdout = models.TextField(blank=True)
    stderr = models.TextField(blank=True)
    stdout_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    stderr_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    stdout_truncated = models.BooleanField(default=False)
    stderr_truncated = models.BooleanField(default=False)
    error_summary = models.TextField(blank=True)
    # Files the run left in /work/output: artifacts list of artifact_id, path, bytes.
    artifacts_manifest = models.JSONField(default=dict, blank=True)
    # The normalised UI payload (contract v2): the only thing pages render.
    ui_payload = models.JSONField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-requested_at"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(status__in=RunStatus.values), name="runs_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(context__in=RunContext.values), name="runs_context_valid"
            ),
            models.CheckConstraint(
                condition=Q(started_at__isnull=True) | Q(started_at__gte=F("requested_at")),
                name="runs_started_after_requested",
            ),
            models.CheckConstraint(
                condition=Q(finished_at__isnull=True)
                | (Q(started_at__isnull=False) & Q(finished_at__gte=F("started_at")))
                | Q(status=RunStatus.CANCELLED),
                name="runs_finished_after_started",
            ),
            models.CheckConstraint(
                condition=Q(status=RunStatus.QUEUED, started_at__isnull=True)
                | ~Q(status__in=[RunStatus.QUEUED, RunStatus.CANCELLED]),
                name="runs_queued_not_started",
            ),
            models.CheckConstraint(
                condition=Q(status__in=[RunStatus.QUEUED, RunStatus.CANCELLED])
                | Q(started_at__isnull=False),
                name="runs_started_when_running_or_done",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ACTIVE_STATUSES, finished_at__isnull=True)
                | Q(status__in=TERMINAL_STATUSES, finished_at__isnull=False),
                name="runs_finished_iff_terminal",
            ),
            models.CheckConstraint(
                condition=Q(session_context__length__gt=0)
                & Q(session_context__length__lte=SESSION_CONTEXT_MAX_LENGTH),
                name="runs_session_context_length",
            ),
        ]
        indexes: ClassVar = [
            # The per-user cap counts these; the reaper scans them.
            models.Index(
                fields=["requested_by", "status"],
                condition=Q(status__in=ACTIVE_STATUSES),
                name="runs_active_by_user",
            ),
            # Keyset pages of one user's runs, newest first, with the id breaking ties of
            # `requested_at`: the My runs page (portal:run-list), `GET /api/v1/runs` and
            # `/api/v1/my-runs`. Its prefix serves every query the older `runs_mine` did.
            # `tool_id` rides along so the page's tool filter (the tools a user has run) is an
            # index-only scan instead of a heap visit per run.
            models.Index(
                fields=["requested_by", "context", "-requested_at", "-id"],
                include=["tool"],
                name="runs_mine_keyset",
            ),
            # The same pages filtered by tool. Without it the planner walked the tool's runs of
            # every user (runs_of_tool, or a bitmap of the tool's foreign key index) to find one
            # user's, so a page's cost grew with other users' use of a popular tool (issue 15;
            # tests/runs/test_query_plans.py).
            models.Index(
                fields=["requested_by", "context", "tool", "-requested_at", "-id"],
                name="runs_mine_by_tool",
            ),
            # A tool's recent runs and their status counts: the maintainers' run list
            # (portal:tool-runs and the run page's partial).
            models.Index(fields=["tool", "context", "-requested_at"], name="runs_of_tool"),
        ]

    def __str__(self) -> str:
        return f"run {self.pk} ({self.status})"

    @property
    def is_action(self) -> bool:
        return bool(self.action_id)


class ToolSession(models.Model):
    """Server-owned state of one user's use of one tool in one context, with an optimistic
    revision. `pending_run` reserves the current revision for one action run at a time."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tool = models.ForeignKey(Tool, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    context = models.CharField(max_length=SESSION_CONTEXT_MAX_LENGTH)
    state = models.JSONField(default=dict)
    state_rev = models.PositiveIntegerField(default=0)
    # The action run working on `state_rev`; others for the same revision get 409.
    pending_run = models.ForeignKey(
        ToolRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The run whose result the state came from (shown to the runtime page).
    latest_run = models.ForeignKey(
        ToolRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["tool", "user", "context"], name="runs_one_session_per_context"
            ),
            models.CheckConstraint(
                condition=Q(context__length__gt=0)
                & Q(context__length__lte=SESSION_CONTEXT_MAX_LENGTH)
                & Q(context=Trim("context")),
                name="runs_session_context_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"session {self.context} rev {self.state_rev}"
