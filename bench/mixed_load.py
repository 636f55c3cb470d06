"""Benchmark `mixed_load`: the fault suite's load (tests/faults/load.py: 4 writer threads PUT
unique keys, 2 reader threads GET acknowledged ones, on /collections/) without faults.

After a short warm-up it probes rising rates (PROBE_SECONDS each, from FIRST_RATE by RATE_STEP)
for the highest one the server sustains with p99 under P99_TARGET_MS for both kinds of
single-item request and no errors (a rate fails when two probes at it fail), then holds that
rate for MEASURE_SECONDS and reports the achieved rate, p50/p99 per kind and the error counts.
Target: p99 of the held run under P99_TARGET_MS with 0 errors.
"""

import dataclasses
import time
from typing import Any

from bench import harness
from tests.faults.load import Load, Sample, percentile, status_counts

NAME = "mixed_load"
P99_TARGET_MS = 100.0
MEASURE_SECONDS = 60
PROBE_SECONDS = 8
WARMUP_SECONDS = 3
FIRST_RATE = 20.0
RATE_STEP = 1.4
MAX_RATE = 5000.0
WRITERS, READERS = 4, 2
EMAIL = "bench-mixed@bench.skriptoteket.test"
COLLECTION = "bench-mixed"
# A rate that never refuses, while the throttle's Redis round trip still runs.
THROTTLE_USER_RATE = "1000000/s"


@dataclasses.dataclass(frozen=True)
class Figures:
    target_rate: float
    rate: float  # answers per second achieved
    p50_ms: dict[str, float]
    p99_ms: dict[str, float]
    statuses: dict[int, int]

    @property
    def errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if not 200 <= status < 300)

    @property
    def worst_p99(self) -> float:
        return max(self.p99_ms.values())

    def sustained(self) -> bool:
        return (
            self.errors == 0
            and self.worst_p99 < P99_TARGET_MS
            and self.rate >= 0.95 * self.target_rate
        )

    def line(self) -> str:
        kinds = ", ".join(
            f"{kind} p50 {self.p50_ms[kind]:.1f} ms p99 {self.p99_ms[kind]:.1f} ms"
            for kind in sorted(self.p99_ms)
        )
        return (
            f"target {self.target_rate:.0f}/s achieved {self.rate:.1f}/s; {kinds};"
            f" errors {self.errors} {self.statuses}"
        )


def seed() -> tuple[str, str]:
    """The bench user, project and collection; a fresh token. Returns (token, collection)."""
    from apps.accounts import services as account_services
    from apps.kvcollections import services as collection_services
    from apps.kvcollections.models import Collection

    user = harness.bench_contributor(EMAIL, "Bench Mixed Load")
    project = harness.bench_project(user, "Bench mixed load")
    if not Collection.objects.filter(project=project, name=COLLECTION).exists():
        collection_services.create_collection(project=project, name=COLLECTION)
    _, secret = account_services.create_api_token(user=user, name=NAME, expires_in_days=1)
    return secret, COLLECTION


def measure(server: harness.Server, token: str, rate: float, seconds: float) -> Figures:
    load = Load(
        server.base_url,
        token,
        COLLECTION,
        writers=WRITERS,
        readers=READERS,
        rate=rate,
        prefix=f"m{time.time_ns()}",
    )
    load.start()
    time.sleep(1.0)  # connections open, the first keys exist: start counting after this
    started = time.monotonic()
    time.sleep(seconds)
    ended = time.monotonic()
    load.stop()
    counted = [s for s in load.samples if started <= s.end < ended]
    return Figures(
        target_rate=rate,
        rate=len(counted) / (ended - started),
        p50_ms=_by_kind(counted, 0.5),
        p99_ms=_by_kind(counted, 0.99),
        statuses=status_counts(counted),
    )


def _by_kind(samples: list[Sample], fraction: float) -> dict[str, float]:
    kinds = {sample.kind for sample in samples} or {"write", "read"}
    return {kind: percentile([s.ms for s in samples if s.kind == kind], fraction) for kind in kinds}


def highest_sustained_rate(server: harness.Server, token: str) -> tuple[float, list[Figures]]:
    probes: list[Figures] = []
    best = FIRST_RATE
    rate = FIRST_RATE
    while rate <= MAX_RATE:
        # A probe has a few hundred samples, so one stall sets its p99: a rate fails only when
        # a second probe at it fails too.
        figures = _probe(server, token, rate)
        if not figures.sustained():
            figures = _probe(server, token, rate)
        probes.append(figures)
        if not figures.sustained():
            break
        best = rate
        rate *= RATE_STEP
    return best, probes


def _probe(server: harness.Server, token: str, rate: float) -> Figures:
    figures = measure(server, token, rate, PROBE_SECONDS)
    print(f"  probe: {figures.line()}  {'ok' if figures.sustained() else 'too much'}")
    return figures


def run(options: harness.BenchOptions) -> harness.BenchResult:
    print(f"== {NAME}: {WRITERS} writers + {READERS} readers on /collections/, highest rate with")
    print(f"   p99 < {P99_TARGET_MS:.0f} ms and no errors, then {MEASURE_SECONDS} s at that rate")
    harness.setup_django()
    token, _ = seed()
    harness.close_db_connections()
    overrides = {"API_THROTTLE_USER": THROTTLE_USER_RATE}
    with harness.gunicorn_server(NAME, overrides) as server:
        print(f"  gunicorn: {server.workers} sync workers at {server.base_url}")
        measure(server, token, FIRST_RATE, WARMUP_SECONDS)  # workers import lazily: warm them
        rate, probes = highest_sustained_rate(server, token)
        held = measure(server, token, rate, MEASURE_SECONDS)
        print(f"  held {MEASURE_SECONDS} s: {held.line()}")
    result = harness.write_custom_result(
        NAME,
        ratio=held.worst_p99,
        target=P99_TARGET_MS,
        higher_is_better=False,
        cases={"held": _document(held), "probes": [_document(p) for p in probes]},
        order=["probes", "held"],
        config={"writers": WRITERS, "readers": READERS, "measure_seconds": MEASURE_SECONDS},
        server=server,
        notes={"errors": held.errors},
    )
    # A held run with errors fails whatever its latency.
    passed = result.passed and held.errors == 0
    return dataclasses.replace(result, passed=passed, metric="p99 ms")


def _document(figures: Figures) -> dict[str, Any]:
    return {
        **dataclasses.asdict(figures),
        "errors": figures.errors,
        "statuses": {str(k): v for k, v in figures.statuses.items()},
    }
