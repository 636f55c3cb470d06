// The review screen (templates/editor/review.html), from the json_script "review-data":
//   {version_id, csrf_token, poll_ms, under_review, base, labels: {before, after},
//    urls: {review_run, tool_runs, run_detail}, upload_limits}
// It draws the diff of the version under review against its base (shared/diff-view.js) and
// runs exactly that version in the sandbox ("Run in the sandbox": POST …/review-run, then the
// shared progress and results modules). Publish and Request changes are plain forms.
import { createApi } from "../shared/api.js";
import { contentParts, renderDiff } from "../shared/diff-view.js";
import { byId, readJsonScript, say } from "../shared/dom.js";
import { buildForm } from "../shared/form.js";
import { describeError } from "../shared/messages.js";
import { followRun, sendAndFollow } from "../shared/run-progress.js";
import { renderArtifacts, renderRunResult } from "../shared/run-results.js";

const data = readJsonScript("review-data");
const api = createApi({ csrfToken: data.csrf_token });
let inputForm = null;

function drawDiff() {
  renderDiff(byId("review-diff"), contentParts(data.base, data.under_review), {
    labels: data.labels,
  });
}

function setBusy(busy) {
  byId("review-run-button").disabled = busy;
  inputForm.setDisabled(busy);
  byId("review-run").setAttribute("aria-busy", busy ? "true" : "false");
}

async function follow(runId, startedAt) {
  const details = await followRun({
    fetchRun: () => api.get(`${data.urls.tool_runs}${runId}`),
    pollMs: data.poll_ms,
    startedAt,
    statusElement: byId("review-run-status"),
  });
  renderRunResult(byId("review-run-result"), details);
  renderArtifacts(byId("review-run-artifacts"), details.artifacts || []);
  const link = byId("review-run-link");
  link.querySelector("a").href = `${data.urls.run_detail}${runId}`;
  link.hidden = false;
}

function runRequest() {
  const { values, errors } = inputForm.read();
  inputForm.showErrors(errors);
  if (Object.keys(errors).length) {
    return null;
  }
  const form = new FormData();
  form.append("inputs", JSON.stringify(values));
  for (const file of inputForm.files()) {
    form.append("files", file, file.name);
  }
  return form;
}

function startRun(event) {
  event.preventDefault();
  const message = byId("review-run-message");
  const form = runRequest();
  if (!form) {
    say(message, "Fix the marked inputs first.", "error");
    return;
  }
  say(message, "");
  byId("review-run-result").replaceChildren();
  byId("review-run-link").hidden = true;
  sendAndFollow({
    send: () => api.postForm(data.urls.review_run, form),
    follow,
    statusElement: byId("review-run-status"),
    setBusy,
    onRefused: (error) => {
      if (error.code === "VALIDATION_ERROR") {
        inputForm.showServerErrors(error.details, error.message);
      }
      say(message, describeError(error), "error");
    },
    onLost: (error) =>
      say(message, `${describeError(error)} The run may still finish: see My runs.`, "error"),
  });
}

function start() {
  drawDiff();
  inputForm = buildForm(byId("review-run-fields"), data.under_review.input_schema || [], {
    scope: "input",
    idPrefix: "review-input",
    uploadLimits: data.upload_limits,
  });
  byId("review-run-form").addEventListener("submit", startRun);
  document.body.dataset.reviewReady = "true";
}

start();
