// Following a queued run to its end: "Queued…", then "Running… N s" ticking, then the outcome,
// while its details are polled. The first polls come soon (a trivial run ends in a few hundred
// ms and someone is waiting); a dropped connection or a restarting server is retried.

const STATUS_WORDS = {
  queued: "Queued…",
  running: "Running…",
  succeeded: "Succeeded",
  failed: "Failed",
  timed_out: "Timed out",
  cancelled: "Cancelled",
};
const TERMINAL = new Set(["succeeded", "failed", "timed_out", "cancelled"]);
const FIRST_POLLS_MS = [150, 300];
const RETRIES = 3; // transient failures in a row tolerated while polling
const TICK_MS = 250;

export function isTerminal(status) {
  return TERMINAL.has(status);
}

export function statusWord(status) {
  return STATUS_WORDS[status] || status;
}

// "Queued…", "Running… 3 s" (whole seconds), "Succeeded in 0.4 s".
export function statusText(status, elapsedMs) {
  if (status === "running") {
    return `Running… ${Math.floor(elapsedMs / 1000)} s`;
  }
  if (isTerminal(status)) {
    return `${statusWord(status)} in ${(elapsedMs / 1000).toFixed(1)} s`;
  }
  return statusWord(status);
}

// The status line of a run: its text, and data-status for styles and tests.
export function showStatus(element, status, startedAt) {
  element.textContent = statusText(status, Date.now() - startedAt);
  element.dataset.status = status;
}

function wait(ms) {
  return new Promise((resolve) => {
    setTimeout(resolve, ms);
  });
}

// followRun({fetchRun, pollMs, startedAt, statusElement}) -> the details of the finished run.
// `fetchRun()` reads the run's details (throws an ApiError); `statusElement` shows the progress.
// A failure other than a transient one, or too many in a row, is thrown as it came.
export async function followRun({ fetchRun, pollMs, startedAt, statusElement }) {
  let status = "queued";
  let failures = 0;
  const ticker = setInterval(() => showStatus(statusElement, status, startedAt), TICK_MS);
  showStatus(statusElement, status, startedAt);
  try {
    for (let poll = 0; ; poll += 1) {
      await wait(Math.min(FIRST_POLLS_MS[poll] ?? pollMs, pollMs));
      let details;
      try {
        details = await fetchRun();
      } catch (error) {
        failures += 1;
        if (error.isTransient && failures <= RETRIES) {
          continue;
        }
        throw error;
      }
      failures = 0;
      status = details.status;
      showStatus(statusElement, status, startedAt);
      if (isTerminal(status)) {
        return details;
      }
    }
  } finally {
    clearInterval(ticker);
  }
}

// sendAndFollow({send, follow, statusElement, setBusy, onRefused, onLost}): the Run button's
// whole life. `send()` asks for a run or an action (resolves to {run_id}, or to nothing when
// nothing was sent); a refusal goes to `onRefused(error)`. An accepted run is followed with
// `follow(runId, startedAt)`; if that fails (the run's fate unknown) `onLost(error)` says so.
// The page is busy from the click until the end.
export async function sendAndFollow({ send, follow, statusElement, setBusy, onRefused, onLost }) {
  const startedAt = Date.now();
  setBusy(true);
  showStatus(statusElement, "queued", startedAt);
  try {
    let accepted;
    try {
      accepted = await send();
    } catch (error) {
      statusElement.textContent = "";
      onRefused(error);
      return;
    }
    if (!accepted) {
      statusElement.textContent = ""; // nothing was sent
      return;
    }
    await follow(accepted.run_id, startedAt);
  } catch (error) {
    statusElement.textContent = "";
    onLost(error);
  } finally {
    setBusy(false);
  }
}
