"""The figures the editor and the run page are held to, measured the same way on both: the time
from clicking Run to the rendered result of a trivial tool, and the page weight (JS + CSS)."""

import gzip
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.request import urlopen

from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

# Both pages have #run-button and #run-results (data-run-id: the run shown); the trivial tool
# answers one notice "hello".
TRIVIAL_SOURCE = """\
def run_tool(input_dir, output_dir):
    return {"outputs": [{"kind": "notice", "level": "info", "message": "hello"}]}
"""
_RUN_AND_MEASURE = """
async () => {
  const results = document.getElementById("run-results");
  const before = results.dataset.runId;
  const started = performance.now();
  document.getElementById("run-button").click();
  while (true) {
    await new Promise((resolve) => requestAnimationFrame(resolve));
    const rendered = results.querySelector('[data-kind="notice"]');
    if (results.dataset.runId !== before && rendered && rendered.textContent === "hello") {
      return performance.now() - started;
    }
  }
}
"""


def run_to_result_ms(page: Page, runs: int = 10) -> list[float]:
    """Click Run `runs` times on a page showing the trivial tool (after a warm-up run the caller
    made); each time, milliseconds until the new run's result is drawn."""
    timings = []
    for _ in range(runs):
        timings.append(page.evaluate(_RUN_AND_MEASURE))
        expect(page.locator("#run-button")).to_be_enabled()
    return timings


def report_median(label: str, timings: list[float]) -> float:
    median = statistics.median(timings)
    print(  # noqa: T201
        f"\n{label}: Run -> rendered result, trivial tool: median {median:.0f} ms "
        f"(min {min(timings):.0f}, max {max(timings):.0f}) over {len(timings)} runs"
    )
    return median


@contextmanager
def assets_loaded(page: Page) -> Iterator[list[str]]:
    """The URLs of the scripts and style sheets the page requests inside the block."""
    assets: list[str] = []

    def record(request: object) -> None:
        if request.resource_type in ("script", "stylesheet"):  # type: ignore[attr-defined]
            assets.append(request.url)  # type: ignore[attr-defined]

    page.on("request", record)
    yield assets
    page.remove_listener("request", record)


def page_weight(
    label: str, live_server: LiveServer, assets: list[str], budget: int
) -> dict[str, tuple[int, int]]:
    """Each asset's size raw and gzip-compressed (level 9, as WhiteNoise), by path; printed with
    the total, which must stay within `budget` bytes; nothing may come from another host."""
    sizes = {}
    for url in sorted(set(assets)):
        with urlopen(url) as response:
            body = response.read()
        sizes[url.removeprefix(live_server.url)] = (len(body), len(gzip.compress(body, 9)))
    total = sum(compressed for _, compressed in sizes.values())
    lines = [
        f"  {path}: {raw / 1024:.1f} KiB raw, {gz / 1024:.1f} KiB gzip"
        for path, (raw, gz) in sizes.items()
    ]
    lines.append(f"  total: {total / 1024:.1f} KiB gzip (budget {budget // 1024} KiB)")
    print(f"\n{label} weight (JS + CSS):\n" + "\n".join(lines))  # noqa: T201
    assert not [url for url in assets if not url.startswith(live_server.url)]  # no CDN
    assert total <= budget
    return sizes
