/* The run detail page (templates/portal/run_detail.html), from the json_script "run-data":
     {run_id, status, terminal, poll_url, poll_ms, requested_at_ms, ui_payload, artifacts}
   where ui_payload and artifacts are the fields of the run-details JSON of GET /api/v1/runs/{id}
   (artifacts is [] once they were removed).

   A finished run: its result is drawn by the shared results renderer, the editor's.
   A queued or running run: it is followed with the shared progress code (the status ticks) and
   the page reloads when it ends, so the server renders the finished run. */

import { createApi } from "../shared/api.js";
import { followRun } from "../shared/run-progress.js";
import { renderArtifacts, renderOutputs } from "../shared/run-results.js";

const EMPTY_PAYLOAD = { contract_version: 2, outputs: [], next_actions: [] };

function pageData() {
  const node = document.getElementById("run-data");
  return node ? JSON.parse(node.textContent) : null;
}

function renderResult(data) {
  const outputs = document.getElementById("run-outputs");
  const artifacts = document.getElementById("run-artifacts");
  if (outputs) {
    renderOutputs(outputs, data.ui_payload || EMPTY_PAYLOAD);
    outputs.dataset.rendered = "true";
  }
  if (artifacts && data.artifacts.length) {
    renderArtifacts(artifacts, data.artifacts);
    artifacts.dataset.rendered = "true";
  }
}

async function followToTheEnd(data) {
  const api = createApi({ csrfToken: "" }); // reads only
  const statusElement = document.getElementById("run-status");
  try {
    await followRun({
      fetchRun: () => api.get(data.poll_url),
      pollMs: data.poll_ms,
      startedAt: data.requested_at_ms,
      statusElement,
    });
  } catch (error) {
    statusElement.textContent += " (no longer updating: reload the page)";
    return;
  }
  window.location.reload(); // the server renders the finished run
}

const data = pageData();
if (data && data.terminal) {
  renderResult(data);
} else if (data) {
  followToTheEnd(data);
}
