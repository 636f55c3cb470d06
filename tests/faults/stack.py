"""The fault suite's own deployment: a PostgreSQL cluster and a Redis server on free ports, and
gunicorn, a Celery worker and Celery beat running against them, each a process the tests may
kill. Nothing here touches the shared servers of scripts/services.sh."""

import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis

from tests.faults.processes import child_pids, free_port, wait_for

REPO_ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_USER = "postgres"  # initdb and postgres refuse to run as root
DB_NAME = "skriptoteket"
WEB_WORKERS = 3
# Shortened so a test sees the reaper act within seconds; production keeps its defaults.
RUN_WALL_SECONDS = 8
STUCK_GRACE_SECONDS = 4
REAPER_INTERVAL_SECONDS = 2
REQUEUE_AFTER_SECONDS = 3
# Slot uids of this suite's sandboxes: not the range tests/runs uses.
SANDBOX_UID_BASE = 47000 + (os.getpid() % 500) * 4
SANDBOX_UID_SLOTS = 4
START_TIMEOUT_S = 60.0


def _stop(process: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM) -> None:
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


class Postgres:
    """A throw-away cluster owned by the postgres OS user, listening on 127.0.0.1 only."""

    def __init__(self, root: Path) -> None:
        self.datadir = root / "pgdata"
        self.log = root / "postgres.log"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        account = pwd.getpwnam(PG_USER)
        self.uid, self.gid = account.pw_uid, account.pw_gid
        root.chmod(0o755)

    @property
    def url(self) -> str:
        return f"postgres://{PG_USER}@127.0.0.1:{self.port}/{DB_NAME}"

    def _as_postgres(self, argv: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            argv,
            user=self.uid,
            group=self.gid,
            extra_groups=[],
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            start_new_session=True,
            **kwargs,  # type: ignore[arg-type]
        )

    def init(self) -> None:
        self.datadir.mkdir()
        os.chown(self.datadir, self.uid, self.gid)
        initdb = [str(PG_BIN / "initdb"), "-D", str(self.datadir), "-U", PG_USER, "-A", "trust"]
        initdb += ["--no-sync", "-E", "UTF8"]
        process = self._as_postgres(initdb, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err.decode()
        self.start()
        with psycopg.connect(self.admin_url("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DB_NAME}")

    def admin_url(self, database: str = DB_NAME) -> str:
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{database}"

    def start(self) -> float:
        """Start the postmaster (again); return when it accepts connections (monotonic)."""
        argv = [str(PG_BIN / "postgres"), "-D", str(self.datadir), "-p", str(self.port)]
        argv += [
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "unix_socket_directories=",
            "-c",
            "max_connections=100",
            "-c",
            "shared_buffers=64MB",
        ]
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            with self.log.open("ab") as log:
                self.process = self._as_postgres(argv, stdout=log, stderr=subprocess.STDOUT)
            wait_for(self._up_or_exited, 30, "PostgreSQL to accept connections or exit")
            if self.process.poll() is None:
                return time.monotonic()
            # Backends of a killed postmaster may still hold its shared memory for a moment;
            # the new postmaster then exits at once. Try again.
            assert time.monotonic() < deadline, self.log.read_text(errors="replace")[-2000:]
            time.sleep(0.2)

    def _up_or_exited(self) -> bool:
        return (self.process is not None and self.process.poll() is not None) or self.accepts()

    def accepts(self) -> bool:
        with psycopg.connect(self.admin_url("postgres"), connect_timeout=1) as conn:
            conn.execute("SELECT 1")
        return True

    def kill(self) -> None:
        """SIGKILL the postmaster alone (its backends notice and exit by themselves)."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with psycopg.connect(self.admin_url(), connect_timeout=5) as conn:
            return conn.execute(sql, params).fetchall()

    def stop(self) -> None:
        _stop(self.process, signal.SIGINT)  # fast shutdown


class Redis:
    """A Redis server without persistence: a restart starts empty, as an unlucky one would."""

    def __init__(self, root: Path) -> None:
        self.port = free_port()
        self.log = root / "redis.log"
        self.root = root
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> float:
        argv = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.root),
            "--logfile",
            str(self.log),
        ]
        self.process = subprocess.Popen(argv, start_new_session=True)
        return wait_for(lambda: redis.Redis.from_url(self.url).ping(), 10, "Redis to answer")

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        _stop(self.process)


@dataclass
class Service:
    """One of our own processes (gunicorn, worker, beat), in its own process group."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.argv,
                cwd=REPO_ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def children(self) -> list[int]:
        return child_pids(self.pid)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        _stop(self.process)


@dataclass
class Stack:
    root: Path
    postgres: Postgres
    redis: Redis
    env: dict[str, str]
    web: Service
    worker: Service
    beat: Service
    web_port: int
    seed: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def work_root(self) -> Path:
        return Path(self.env["SANDBOX_WORK_ROOT"])

    @property
    def sandbox_uids(self) -> range:
        return range(SANDBOX_UID_BASE, SANDBOX_UID_BASE + SANDBOX_UID_SLOTS)

    def run_python(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, *args],
            cwd=REPO_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def web_ready(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.web_port), timeout=1) as sock:
            sock.sendall(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            return sock.recv(16).startswith(b"HTTP/1.")

    def start_worker(self) -> None:
        self.worker.start()
        wait_for(lambda: "ready." in self.worker.output(), START_TIMEOUT_S, "the worker")

    def restart_worker(self) -> None:
        self.worker.log.write_text(self.worker.output() + "\n--- restarted ---\n")
        self.start_worker()

    def stop(self) -> None:
        for service in (self.web, self.beat, self.worker):
            service.stop()
        self.redis.stop()
        self.postgres.stop()


def _env(root: Path, postgres: Postgres, redis_server: Redis) -> dict[str, str]:
    work = root / "work"
    work.mkdir()
    work.chmod(0o711)  # the slot uids pass through to their run folder
    files = root / "files"
    files.mkdir()
    return {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "DATABASE_URL": postgres.url,
        "REDIS_URL": redis_server.url,
        "CELERY_BROKER_URL": redis_server.url,
        "DEBUG": "false",
        "HTTPS": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_FORMAT": "console",
        "LOG_LEVEL": "WARNING",
        "SANDBOX_WORK_ROOT": str(work),
        "RUN_FILES_ROOT": str(files),
        "SANDBOX_UID_BASE": str(SANDBOX_UID_BASE),
        "SANDBOX_UID_SLOTS": str(SANDBOX_UID_SLOTS),
        "RUN_WALL_SECONDS_PRODUCTION": str(RUN_WALL_SECONDS),
        "RUN_WALL_SECONDS_SANDBOX": str(RUN_WALL_SECONDS),
        "RUN_STUCK_GRACE_SECONDS": str(STUCK_GRACE_SECONDS),
        "RUN_REAPER_INTERVAL_SECONDS": str(REAPER_INTERVAL_SECONDS),
        "RUN_REQUEUE_AFTER_SECONDS": str(REQUEUE_AFTER_SECONDS),
        "RUN_MAX_CONCURRENT_PER_USER": "100",
        # The throttle still asks Redis on every request, but never refuses the load.
        "API_THROTTLE_USER": "10000000/min",
        "PYTHONUNBUFFERED": "1",
    }


def start_stack() -> Stack:
    root = Path(tempfile.mkdtemp(prefix="skt-faults-", dir="/tmp"))
    postgres, redis_server = Postgres(root), Redis(root)
    postgres.init()
    redis_server.start()
    env = _env(root, postgres, redis_server)
    web_port = free_port()
    gunicorn = [
        sys.executable,
        "-m",
        "gunicorn",
        "skriptoteket.wsgi",
        "--bind",
        f"127.0.0.1:{web_port}",
        "--workers",
        str(WEB_WORKERS),
        "--error-logfile",
        "-",
        "--log-level",
        "warning",
    ]
    celery = [sys.executable, "-m", "celery", "-A", "skriptoteket"]
    worker = [
        *celery,
        "worker",
        "-Q",
        "default,sandbox,runs",
        "--concurrency",
        "2",
        "--loglevel",
        "INFO",
        "--without-gossip",
        "--without-mingle",
        "-n",
        "faults@%h",
    ]
    beat = [*celery, "beat", "--loglevel", "WARNING", "--schedule", str(root / "beat-schedule")]
    stack = Stack(
        root=root,
        postgres=postgres,
        redis=redis_server,
        env=env,
        web=Service("web", gunicorn, env, root / "web.log"),
        # INFO: the tests read the worker's "run.claim_skipped" lines.
        worker=Service("worker", worker, {**env, "LOG_LEVEL": "INFO"}, root / "worker.log"),
        beat=Service("beat", beat, env, root / "beat.log"),
        web_port=web_port,
    )
    try:
        stack.run_python("manage.py", "migrate", "--noinput", "-v0")
        stack.seed = json.loads(
            stack.run_python("-m", "tests.faults.seed").strip().splitlines()[-1]
        )
        stack.web.start()
        stack.start_worker()
        stack.beat.start()
        wait_for(stack.web_ready, START_TIMEOUT_S, "gunicorn")
    except BaseException:
        stack.stop()
        raise
    return stack


def remove(stack: Stack) -> None:
    stack.stop()
    shutil.rmtree(stack.root, ignore_errors=True)
