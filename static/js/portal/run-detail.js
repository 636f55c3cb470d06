/* The run detail page (templates/portal/run_detail.html).

   A finished run: its result is drawn by the shared results renderer, the one the editor's
   sandbox panel uses, from the json_script "run-data":
     {run_id, status, terminal, poll_url, poll_ms, ui_payload, artifacts}
   where ui_payload and artifacts are exactly the fields of the run-details JSON of
   GET /api/v1/runs/{id}: ui_payload {contract_version: 2, outputs: [...], next_actions: [...]}
   (or null), artifacts [{artifact_id, path, bytes, download_url}] ([] once they were removed).
   Each render function replaces the content of the container it is given.

   A queued or running run: its details are polled (poll_url, every poll_ms, slowing down to 5 s)
   and the page reloads when the status changes, so the server renders the new state.

   The renderer is imported on demand: if it cannot load, the page still shows everything the
   server rendered (status, inputs, the error summary, artifact links) and still follows the run. */

const TERMINAL = new Set(["succeeded", "failed", "timed_out", "cancelled"]);
const SLOWEST_POLL_MS = 5000;
const EMPTY_PAYLOAD = { contract_version: 2, outputs: [], next_actions: [] };

function pageData() {
  const node = document.getElementById("run-data");
  return node ? JSON.parse(node.textContent) : null;
}

async function renderResult(data) {
  const outputs = document.getElementById("run-outputs");
  const artifacts = document.getElementById("run-artifacts");
  if (!outputs && !artifacts) return;
  let results;
  try {
    results = await import("../shared/run-results.js");
  } catch (error) {
    if (outputs) {
      outputs.textContent = "The result cannot be shown here: the results renderer did not load.";
      outputs.dataset.rendered = "failed";
    }
    return;
  }
  if (outputs) {
    results.renderOutputs(outputs, data.ui_payload || EMPTY_PAYLOAD);
    outputs.dataset.rendered = "true";
  }
  if (artifacts && data.artifacts.length) {
    results.renderArtifacts(artifacts, data.artifacts);
    artifacts.dataset.rendered = "true";
  }
}

function followRun(data) {
  let delay = data.poll_ms;
  const check = async () => {
    try {
      const response = await fetch(data.poll_url, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (response.ok) {
        const details = await response.json();
        if (details.status !== data.status) {
          location.reload();
          return;
        }
      }
    } catch (error) {
      // A network hiccup: ask again on the next tick.
    }
    delay = Math.min(Math.round(delay * 1.2), Math.max(data.poll_ms, SLOWEST_POLL_MS));
    setTimeout(check, delay);
  };
  setTimeout(check, delay);
}

const data = pageData();
if (data) {
  if (TERMINAL.has(data.status)) {
    renderResult(data);
  } else {
    followRun(data);
  }
}
