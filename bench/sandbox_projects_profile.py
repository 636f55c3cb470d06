"""Where provision and merge spend their time, for `sandbox_projects`: one extra, unmeasured
round with the services' building blocks wrapped by timers and every SQL statement counted.

Each wrapped function's *self* time (its own time minus that of wrapped functions it calls) and
the statements it issues itself are charged to it; what no wrapper covers (listing queries, the
advisory lock, the merge record, COMMIT) is charged to "(rest)". So the rows of a phase add up to
the phase's wall time. The wrappers cost ~1 µs a call: the instrumented totals are close to,
not equal to, the measured ones.

Import only after harness.setup_django().
"""

import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from django.db import connection

import apps.kvcollections.services
import apps.locks.services
import apps.projects.services
import apps.sandbox.services
import apps.sandbox_projects.services
import apps.tools.services.sandboxes

REST = "(rest)"

# (module, function name): patched in the module namespace the callers look it up in.
WRAPPED: list[tuple[ModuleType, str]] = [
    (apps.projects.services, "create_sandbox_project"),
    (apps.tools.services.sandboxes, "copy_tools_into"),
    (apps.tools.services.sandboxes, "_copy_maintainers_and_taxonomy"),
    (apps.kvcollections.services, "create_empty_collections"),
    (apps.sandbox_projects.services, "plan_merge"),
    (apps.sandbox_projects.services, "_tool_changes"),
    (apps.tools.services.sandboxes, "propose_drafts"),
    (apps.tools.services.sandboxes, "latest_versions"),
    (apps.tools.services.sandboxes, "locks_held_by_others"),
    (apps.tools.services.sandboxes, "new_drafts"),
    (apps.tools.services.sandboxes, "set_heads"),
    (apps.tools.services.sandboxes, "_new_target_tool"),
    (apps.locks.services, "move"),
    (apps.sandbox.services, "carry_over_sandbox_settings"),
]


@dataclass
class Row:
    calls: int = 0
    seconds: float = 0.0
    queries: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"calls": self.calls, "self_ms": self.seconds * 1000, "queries": self.queries}


@dataclass
class Profile:
    """Self time, calls and statements per wrapped function, per phase."""

    phases: dict[str, dict[str, Row]] = field(default_factory=dict)
    totals_ms: dict[str, float] = field(default_factory=dict)
    _stack: list[str] = field(default_factory=list)
    _rows: dict[str, Row] = field(default_factory=dict)
    _mark: float = 0.0

    @property
    def active(self) -> bool:
        return bool(self._stack)

    def _charge(self) -> None:
        now = time.perf_counter()
        if self._stack:
            self._rows[self._stack[-1]].seconds += now - self._mark
        self._mark = now

    def enter(self, label: str) -> None:
        self._charge()
        self._stack.append(label)
        self._rows[label].calls += 1

    def leave(self) -> None:
        self._charge()
        self._stack.pop()

    def count_query(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        if self._stack:
            self._rows[self._stack[-1]].queries += 1
        return execute(sql, params, many, context)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        self._rows = defaultdict(Row)
        self._stack = []
        started = time.perf_counter()
        self.enter(REST)
        try:
            with connection.execute_wrapper(self.count_query):
                yield
        finally:
            self.leave()
            self._rows[REST].calls = 1
            self.totals_ms[name] = (time.perf_counter() - started) * 1000
            self.phases[name] = dict(self._rows)

    def as_json(self) -> dict[str, Any]:
        return {
            name: {
                "total_ms": self.totals_ms[name],
                "queries": sum(row.queries for row in rows.values()),
                "rows": {label: row.as_json() for label, row in rows.items()},
            }
            for name, rows in self.phases.items()
        }


def _wrapper(profile: Profile, label: str, original: Callable[..., Any]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        if not profile.active:
            return original(*args, **kwargs)
        profile.enter(label)
        try:
            return original(*args, **kwargs)
        finally:
            profile.leave()

    return timed


@contextmanager
def instrumented(profile: Profile) -> Iterator[None]:
    """Replace the WRAPPED functions by timing wrappers for the duration of the block."""
    originals = [(module, name, getattr(module, name)) for module, name in WRAPPED]
    try:
        for module, name, original in originals:
            setattr(module, name, _wrapper(profile, name, original))
        yield
    finally:
        for module, name, original in originals:
            setattr(module, name, original)


@contextmanager
def measured_phase(profile: Profile | None, name: str) -> Iterator[None]:
    """The block as the profile's phase `name`, instrumented; a plain block without a profile."""
    if profile is None:
        yield
        return
    with instrumented(profile), profile.phase(name):
        yield


def print_profile(profile: Profile) -> None:
    for name, rows in profile.phases.items():
        total = profile.totals_ms[name]
        queries = sum(row.queries for row in rows.values())
        print(f"      {name}: {total:.1f} ms, {queries} SQL statements")
        print(f"        {'function (self time)':<32} {'calls':>6} {'ms':>8} {'%':>5} {'SQL':>6}")
        for label, row in sorted(rows.items(), key=lambda item: -item[1].seconds):
            share = 100 * row.seconds * 1000 / total if total else 0.0
            print(
                f"        {label:<32} {row.calls:>6} {row.seconds * 1000:>8.1f} {share:>5.1f} "
                f"{row.queries:>6}"
            )
