"""Concurrent clients of the /collections/ API: writers PUT unique keys with known values, readers
GET keys already acknowledged. Every answer is recorded with its start and end time, so a test
can say what clients saw before, during and after a fault. Used by tests/faults and by
bench/mixed_load.py."""

import collections
import http.client
import json
import random
import statistics
import threading
import time
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

CONNECTION_ERROR = 0  # the status recorded when no HTTP answer came back
WRONG_VALUE = -1  # a 200 read whose value is not the one acknowledged for that key
BARE_503 = -2  # a 503 without Retry-After: the client would not know when to try again
CLIENT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Sample:
    kind: str  # "write" or "read"
    start: float  # time.monotonic()
    end: float
    status: int

    @property
    def ms(self) -> float:
        return (self.end - self.start) * 1000


class Client:
    """One keep-alive connection, opened again after the server closed it or it broke."""

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.headers = headers
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        """(status, body); status CONNECTION_ERROR when the connection failed or broke, BARE_503
        for a 503 without a Retry-After in seconds."""
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=CLIENT_TIMEOUT_S)
        try:
            self.conn.request(method, path, body=body, headers=self.headers)
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            return CONNECTION_ERROR, b""
        if response.will_close:
            self.close()
        if response.status == 503 and not response.getheader("Retry-After", "").isdigit():
            return BARE_503, data
        return response.status, data

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Load:
    """`writers` + `readers` threads against one collection until stop(); `rate` (requests per
    second, all clients together) paces them, None sends as fast as answers come."""

    def __init__(
        self,
        base_url: str,
        token: str,
        collection: str,
        *,
        writers: int = 4,
        readers: int = 2,
        rate: float | None = None,
        prefix: str = "k",
    ) -> None:
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.path = f"/collections/{quote(collection, safe='')}/"
        self.writers, self.readers = writers, readers
        self.interval = None if rate is None else (writers + readers) / rate
        self.prefix = prefix
        self.acknowledged: dict[str, str] = {}
        self._order: list[str] = []
        self.samples: list[Sample] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> "Load":
        for number in range(self.writers):
            self._spawn(self._write_loop, number)
        for number in range(self.readers):
            self._spawn(self._read_loop, number)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(CLIENT_TIMEOUT_S + 5)

    def _spawn(self, loop: object, number: int) -> None:
        thread = threading.Thread(target=loop, args=(number,), daemon=True)
        thread.start()
        self._threads.append(thread)

    def _paced(self) -> object:
        """Yield once per request slot until stopped."""
        due = time.monotonic()
        while not self._stop.is_set():
            yield
            if self.interval is not None:
                due += self.interval
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                else:
                    due = time.monotonic()  # fell behind: do not burst to catch up

    def _record(self, kind: str, start: float, status: int) -> None:
        sample = Sample(kind, start, time.monotonic(), status)
        with self._lock:
            self.samples.append(sample)

    def _write_loop(self, number: int) -> None:
        client = Client(self.base_url, self.headers)
        for sequence, _ in enumerate(self._paced(), start=1):  # type: ignore[arg-type]
            key = f"{self.prefix}-{number}-{sequence}"
            value = f"{key}={random.getrandbits(64):016x}"
            body = json.dumps({"value": value}).encode()
            start = time.monotonic()
            status, _ = client.request("PUT", self.path + key, body)
            if 200 <= status < 300:
                with self._lock:
                    self.acknowledged[key] = value
                    self._order.append(key)
            self._record("write", start, status)
        client.close()

    def _read_loop(self, number: int) -> None:
        client = Client(self.base_url, self.headers)
        chooser = random.Random(number)
        for _ in self._paced():  # type: ignore[attr-defined]
            with self._lock:
                # Recent keys are the likeliest to be lost; read among the newest thousand.
                recent = self._order[-1000:]
                key = chooser.choice(recent) if recent else None
                pick = None if key is None else (key, self.acknowledged[key])
            if pick is None:
                time.sleep(0.01)
                continue
            key, value = pick
            start = time.monotonic()
            status, body = client.request("GET", self.path + key)
            if status == 200 and _value_of(body) != value:
                status = WRONG_VALUE
            self._record("read", start, status)
        client.close()


def _value_of(body: bytes) -> object:
    try:
        return json.loads(body).get("value")
    except (ValueError, AttributeError):
        return None


def status_counts(samples: list[Sample]) -> dict[int, int]:
    return dict(sorted(collections.Counter(sample.status for sample in samples).items()))


def within(samples: list[Sample], start: float, end: float) -> list[Sample]:
    """Samples whose answer came in [start, end)."""
    return [sample for sample in samples if start <= sample.end < end]


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[round(fraction * 1000) - 1]


def format_counts(counts: dict[int, int]) -> str:
    names = {CONNECTION_ERROR: "conn_error", WRONG_VALUE: "wrong_value", BARE_503: "503_bare"}
    return " ".join(f"{names.get(status, status)}={count}" for status, count in counts.items())
