"""Reusable pieces for benchmarks: a production-style gunicorn server, wrk runs, A/B comparison.

A benchmark compares two cases (A = the endpoint under test, B = a reference) on the same server,
interleaving their runs so both see the same machine state, and reports the ratio of the medians.
"""

import http.client
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO_ROOT / "bench" / "results"
SETTINGS_MODULE = "bench.settings"
WRK_THREADS = 2
WRK_CONNECTIONS = 16
SERVER_START_TIMEOUT_SECONDS = 60.0
SERVER_STOP_TIMEOUT_SECONDS = 30.0


class BenchError(RuntimeError):
    """The benchmark could not measure what it claims to measure (server down, wrong answers)."""


@dataclass(frozen=True)
class BenchOptions:
    """Run lengths shared by all benchmarks; `bench.run` fills them from the command line."""

    seconds: int = 10
    rounds: int = 3
    warmup_seconds: int = 3


@dataclass(frozen=True)
class Case:
    """One thing to load: a path on the server and the request headers to send.

    `script` is an optional wrk Lua script (e.g. one that varies the path per request); its
    `script_args` reach the script's `init(args)`.
    """

    name: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    script: Path | None = None
    script_args: tuple[str, ...] = ()
    # wrk's open connections (clients); each wrk thread needs at least one.
    connections: int = WRK_CONNECTIONS


@dataclass(frozen=True)
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx_3xx: int
    socket_errors: int


@dataclass(frozen=True)
class BenchResult:
    """What `bench.run` needs for its summary."""

    name: str
    ratio: float
    target: float
    passed: bool
    json_path: Path
    # False for ratios that must stay below their target (e.g. deep/shallow latency).
    higher_is_better: bool = True
    # What `ratio` holds, for the summary: a benchmark whose target is not a ratio (e.g. a p99
    # latency in ms) names its metric here.
    metric: str = "ratio"

    @property
    def target_text(self) -> str:
        return f"{'>=' if self.higher_is_better else '<='} {self.target:.2f}"


# --- Django in the benchmark process ------------------------------------------------------------


def setup_django() -> None:
    """Configure Django in this process with the benchmark settings (for seeding data)."""
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    # The benchmark process's own log lines (user.created, ...) would clutter the report.
    os.environ["LOG_LEVEL"] = "WARNING"
    import django  # here, so importing the harness stays cheap

    django.setup()


def close_db_connections() -> None:
    """Drop this process's database connections so they do not sit idle during the load."""
    from django.db import connections  # usable only after setup_django()

    connections.close_all()


# --- Server -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    base_url: str
    log_path: Path
    workers: int
    env_overrides: Mapping[str, str]
    pid: int = 0  # the gunicorn master's

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])


def default_workers() -> int:
    # gunicorn's documented rule of thumb for sync workers.
    return 2 * (os.cpu_count() or 1) + 1


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_env(overrides: Mapping[str, str]) -> dict[str, str]:
    """The environment of `make run`'s web process, forced to production mode."""
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
            "DEBUG": "false",
            # Plain HTTP on 127.0.0.1, as `make run`: HTTPS=true would redirect every request.
            "HTTPS": "false",
            # Production level: the per-request access log line is part of the cost.
            "LOG_LEVEL": "INFO",
        }
    )
    env.update(overrides)
    return env


def gunicorn_command(port: int, workers: int) -> list[str]:
    return [
        sys.executable, "-m", "gunicorn", "skriptoteket.wsgi:application",
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers),
        "--worker-class", "sync",
        "--log-level", "info",
        "--error-logfile", "-",  # gunicorn's own lines go to stderr, i.e. the log file too
    ]  # fmt: skip


@contextmanager
def gunicorn_server(
    name: str, env_overrides: Mapping[str, str] | None = None, workers: int | None = None
) -> Iterator[Server]:
    """Start gunicorn on a free port, wait until it answers, stop it on exit.

    Logs (gunicorn's and the application's) go to bench/results/<name>-<timestamp>-server.log.
    """
    overrides = dict(env_overrides or {})
    workers = workers or default_workers()
    port = free_port()
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    log_path = RESULTS_DIR / f"{name}-{timestamp()}-server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            gunicorn_command(port, workers),
            cwd=REPO_ROOT,
            env=server_env(overrides),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        server = Server(f"http://127.0.0.1:{port}", log_path, workers, overrides, process.pid)
        try:
            wait_until_up(process, server)
            yield server
        finally:
            stop_process(process)


def wait_until_up(process: subprocess.Popen[bytes], server: Server) -> None:
    # The bare view needs neither data nor a token, so it answers as soon as a worker is ready.
    deadline = time.monotonic() + SERVER_START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"gunicorn exited with {process.returncode}; see {server.log_path}")
        try:
            status, _ = http_get(server.url("/bench/bare"))
        except OSError:
            status = 0
        if status == 200:
            return
        time.sleep(0.2)
    raise BenchError(f"gunicorn did not answer within {SERVER_START_TIMEOUT_SECONDS}s")


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM is gunicorn's graceful shutdown; kill only if it hangs."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=SERVER_STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def http_get(url: str, headers: Mapping[str, str] | None = None) -> tuple[int, bytes]:
    """One GET; an HTTP error status is returned, not raised."""
    request = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def timed_get(server: Server, path: str, headers: Mapping[str, str]) -> tuple[float, bytes]:
    """One GET of `path` on a fresh connection: milliseconds to the last byte, and the body.

    :raises BenchError: when the answer is not 200.
    """
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        connection.request("GET", path, headers=dict(headers))
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    elapsed = (time.perf_counter() - started) * 1000
    if response.status != 200:
        raise BenchError(f"{path} answered {response.status}: {body[:300]!r}")
    return elapsed, body


def get_json(server: Server, case: Case) -> tuple[int, Any]:
    """GET a case once and decode its JSON body (None when it is not JSON)."""
    status, body = http_get(server.url(case.path), case.headers)
    try:
        return status, json.loads(body)
    except ValueError:
        return status, None


# --- wrk ----------------------------------------------------------------------------------------

_LATENCY_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_PERCENTILE = re.compile(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.MULTILINE)
_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_REQUESTS = re.compile(r"^\s*(\d+) requests in ", re.MULTILINE)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


def wrk_command(
    url: str,
    seconds: int,
    headers: Mapping[str, str],
    script: Path | None = None,
    script_args: Sequence[str] = (),
    connections: int = WRK_CONNECTIONS,
) -> list[str]:
    threads = min(WRK_THREADS, connections)
    command = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
    ]  # fmt: skip
    for key, value in headers.items():
        command += ["-H", f"{key}: {value}"]
    if script is not None:
        command += ["-s", str(script)]
    command.append(url)
    if script_args:
        command += ["--", *script_args]
    return command


def run_wrk(
    url: str,
    seconds: int,
    headers: Mapping[str, str] | None = None,
    script: Path | None = None,
    script_args: Sequence[str] = (),
    connections: int = WRK_CONNECTIONS,
) -> WrkResult:
    completed = subprocess.run(
        wrk_command(url, seconds, headers or {}, script, script_args, connections),
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise BenchError(f"wrk failed ({completed.returncode}): {completed.stderr.strip()}")
    return parse_wrk(completed.stdout)


def parse_wrk(output: str) -> WrkResult:
    rps = _RPS.search(output)
    requests = _REQUESTS.search(output)
    percentiles = {m.group(1): _to_ms(m.group(2), m.group(3)) for m in _PERCENTILE.finditer(output)}
    if rps is None or requests is None or set(percentiles) != {"50", "99"}:
        raise BenchError(f"cannot parse wrk output:\n{output}")
    non_2xx = _NON_2XX.search(output)
    socket_errors = _SOCKET_ERRORS.search(output)
    return WrkResult(
        requests_per_second=float(rps.group(1)),
        p50_ms=percentiles["50"],
        p99_ms=percentiles["99"],
        requests=int(requests.group(1)),
        non_2xx_3xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in socket_errors.groups()) if socket_errors else 0,
    )


def _to_ms(value: str, unit: str) -> float:
    return float(value) * _LATENCY_UNITS_MS[unit]


def load(server: Server, case: Case, seconds: int) -> WrkResult:
    """Run wrk against one case; error answers make the numbers meaningless, so they fail."""
    result = run_wrk(
        server.url(case.path),
        seconds,
        case.headers,
        case.script,
        case.script_args,
        case.connections,
    )
    if result.requests == 0 or result.non_2xx_3xx > 0:
        raise BenchError(
            f"{case.name}: {result.non_2xx_3xx} of {result.requests} responses were not 2xx/3xx; "
            f"see {server.log_path}"
        )
    return result


# --- A/B comparison -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    a: Case
    b: Case
    runs: list[tuple[str, WrkResult]]  # (case name, result) in the order they ran

    def results(self, case: Case) -> list[WrkResult]:
        return [result for name, result in self.runs if name == case.name]

    def median(self, case: Case) -> WrkResult:
        """Each metric's median over the rounds on its own; counts are summed over the rounds."""
        results = self.results(case)
        return WrkResult(
            requests_per_second=statistics.median(r.requests_per_second for r in results),
            p50_ms=statistics.median(r.p50_ms for r in results),
            p99_ms=statistics.median(r.p99_ms for r in results),
            requests=sum(r.requests for r in results),
            non_2xx_3xx=sum(r.non_2xx_3xx for r in results),
            socket_errors=sum(r.socket_errors for r in results),
        )

    @property
    def ratio(self) -> float:
        """Median req/s of A divided by median req/s of B."""
        return self.median(self.a).requests_per_second / self.median(self.b).requests_per_second


def compare(server: Server, a: Case, b: Case, options: BenchOptions) -> Comparison:
    """Warm both cases up, then run A,B,A,B,... so slow drift of the machine hits both alike."""
    print(f"  warm-up: {options.warmup_seconds}s each for {a.name} and {b.name}")
    for case in (a, b):
        load(server, case, options.warmup_seconds)
    runs: list[tuple[str, WrkResult]] = []
    for round_number in range(1, options.rounds + 1):
        for case in (a, b):
            result = load(server, case, options.seconds)
            print(f"  round {round_number}/{options.rounds} {case.name:<14} {_row(result)}")
            runs.append((case.name, result))
    return Comparison(a, b, runs)


# --- Reporting ----------------------------------------------------------------------------------


def timestamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def _row(result: WrkResult) -> str:
    return (
        f"{result.requests_per_second:>9.1f} req/s  p50 {result.p50_ms:>8.2f} ms  "
        f"p99 {result.p99_ms:>8.2f} ms"
    )


def print_table(comparison: Comparison, target: float) -> None:
    ratio = comparison.ratio
    print()
    header = f"  {'case':<14} {'req/s (median)':>14} {'p50 ms':>9} {'p99 ms':>9}"
    print(f"{header} {'requests (all rounds)':>22}")
    for case in (comparison.a, comparison.b):
        median = comparison.median(case)
        print(
            f"  {case.name:<14} {median.requests_per_second:>14.1f} {median.p50_ms:>9.2f} "
            f"{median.p99_ms:>9.2f} {median.requests:>22}"
        )
    print(
        f"  ratio {comparison.a.name}/{comparison.b.name} = {ratio:.3f}  "
        f"(target >= {target:.2f})  {verdict(ratio >= target)}"
    )


def git_commit() -> str | None:
    completed = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    return completed.stdout.strip() or None


def comparison_json(comparison: Comparison) -> dict[str, Any]:
    return {
        case.name: {
            "path": case.path,
            "median": asdict(comparison.median(case)),
            "runs": [asdict(result) for result in comparison.results(case)],
        }
        for case in (comparison.a, comparison.b)
    }


def write_result(
    name: str,
    comparison: Comparison,
    target: float,
    server: Server,
    options: BenchOptions,
    notes: Mapping[str, Any] | None = None,
) -> BenchResult:
    """Print the table and save everything needed to compare this run with later ones."""
    print_table(comparison, target)
    ratio = comparison.ratio
    document = {
        "name": name,
        "timestamp": timestamp(),
        "git_commit": git_commit(),
        "ratio": ratio,
        "target_ratio": target,
        "passed": ratio >= target,
        "cases": comparison_json(comparison),
        "order": [case_name for case_name, _ in comparison.runs],
        "config": {
            **asdict(options),
            "wrk_threads": WRK_THREADS,
            "wrk_connections": WRK_CONNECTIONS,
            "gunicorn_workers": server.workers,
            "cpu_count": os.cpu_count(),
            "server_env_overrides": dict(server.env_overrides),
        },
        "server_log": str(server.log_path.relative_to(REPO_ROOT)),
        "notes": dict(notes or {}),
    }
    path = RESULTS_DIR / f"{name}-{document['timestamp']}.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"  results: {path.relative_to(REPO_ROOT)}")
    return BenchResult(name, ratio, target, ratio >= target, path)


# --- Benchmarks that time a fixed amount of work (not wrk) ---------------------------------------

T = TypeVar("T")


def interleave(
    cases: Sequence[tuple[str, Callable[[], T]]],
    rounds: int,
    describe: Callable[[T], str],
    before_each: Callable[[str], None] | None = None,
) -> list[tuple[str, T]]:
    """Run each case once per round, in the same order every round, like `compare` does for wrk.

    `before_each(case_name)` runs untimed before every run (e.g. to reset the data).
    """
    runs: list[tuple[str, T]] = []
    for round_number in range(1, rounds + 1):
        for name, run_case in cases:
            if before_each is not None:
                before_each(name)
            result = run_case()
            print(f"  round {round_number}/{rounds} {name:<14} {describe(result)}")
            runs.append((name, result))
    return runs


def fixed_work_rounds(options: BenchOptions) -> int:
    """Rounds for benchmarks that time a fixed workload of a few seconds: twice `--rounds`, since
    each run is short and its median needs more samples on a busy machine than a 10 s wrk run."""
    return 2 * options.rounds


def runs_of(runs: Sequence[tuple[str, T]], name: str) -> list[T]:
    return [result for case_name, result in runs if case_name == name]


def write_custom_result(
    name: str,
    *,
    ratio: float,
    target: float,
    higher_is_better: bool,
    cases: Mapping[str, Any],
    order: Sequence[str],
    config: Mapping[str, Any],
    server: Server | None,
    notes: Mapping[str, Any] | None = None,
) -> BenchResult:
    """Save a benchmark that does not fit the wrk A/B shape, with the same top-level fields."""
    passed = ratio >= target if higher_is_better else ratio <= target
    document = {
        "name": name,
        "timestamp": timestamp(),
        "git_commit": git_commit(),
        "ratio": ratio,
        "target_ratio": target,
        "target_direction": ">=" if higher_is_better else "<=",
        "passed": passed,
        "cases": dict(cases),
        "order": list(order),
        "config": {
            **config,
            "gunicorn_workers": server.workers if server else None,
            "cpu_count": os.cpu_count(),
            "server_env_overrides": dict(server.env_overrides) if server else {},
        },
        "server_log": str(server.log_path.relative_to(REPO_ROOT)) if server else None,
        "notes": dict(notes or {}),
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}-{document['timestamp']}.json"
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    print(f"  results: {path.relative_to(REPO_ROOT)}")
    return BenchResult(name, ratio, target, passed, path, higher_is_better)


def ratio_line(a_name: str, b_name: str, ratio: float, target: float, higher: bool) -> str:
    passed = ratio >= target if higher else ratio <= target
    sign = ">=" if higher else "<="
    return (
        f"  ratio {a_name}/{b_name} = {ratio:.3f}  (target {sign} {target:.2f})  {verdict(passed)}"
    )


# --- Server processes and their memory ----------------------------------------------------------


def child_pids(parent: int) -> list[int]:
    """Processes whose parent is `parent` (gunicorn's workers, for its master's pid)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # exited meanwhile
        # "pid (comm) state ppid ...": comm may hold spaces, so split after its closing ")".
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            children.append(int(entry.name))
    return sorted(children)


def worker_pids(server: Server) -> list[int]:
    pids = child_pids(server.pid)
    if len(pids) != server.workers:
        raise BenchError(f"expected {server.workers} gunicorn worker(s), found {pids}")
    return pids


def memory_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in KiB: resident now, and the peak since it started."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields["VmRSS"], fields["VmHWM"]


class RssSampler:
    """Sample a process's VmRSS every `interval` seconds in a background thread.

    `peak_kib` is the highest sample since the last `reset_peak()`; VmHWM (the kernel's own peak,
    which no sampling interval can miss) is read alongside by `memory_kib`.
    """

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_kib = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> int:
        rss, _ = memory_kib(self.pid)
        self.peak_kib = max(self.peak_kib, rss)
        self.samples += 1
        return rss

    def reset_peak(self) -> None:
        self.peak_kib = 0

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# --- Bench data shared by the benchmarks (needs setup_django() first) --------------------------


def bench_contributor(email: str, full_name: str) -> Any:
    """The bench user with that email, a contributor, created through the services if missing."""
    from apps.accounts import services as account_services
    from apps.accounts.models import Role, User

    user = User.objects.filter(email=email).first()
    if user is None:
        return account_services.create_user(
            actor=None, email=email, password=None, role=Role.CONTRIBUTOR, full_name=full_name
        )
    if user.role != Role.CONTRIBUTOR:
        account_services.set_user_role(actor=None, user=user, role=Role.CONTRIBUTOR)
    return user


def bench_project(owner: Any, name: str) -> Any:
    """The owner's oldest live project with that name, created through the services if missing."""
    from apps.projects import services as project_services
    from apps.projects.models import Project

    project = (
        Project.objects.live().filter(created_by=owner, name=name).order_by("created_at").first()
    )
    return project or project_services.create_project(creator=owner, name=name)
