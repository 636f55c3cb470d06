// The sandbox panel: run the UNSAVED editor content, follow the run, render it, continue with next
// actions on the same snapshot, start over. Built on the shared form, progress, results and
// actions modules; the editor state comes from core.js.
import { el, byId, say as sayIn } from "../shared/dom.js";
import { buildForm } from "../shared/form.js";
import { describeError } from "../shared/messages.js";
import {
  ActionSession,
  actionFailureText,
  renderActions,
  setActionsDisabled,
} from "../shared/next-actions.js";
import { followRun, sendAndFollow } from "../shared/run-progress.js";
import { renderArtifacts, renderRunResult } from "../shared/run-results.js";
import * as core from "./core.js";
import { copyJson, renderDebug } from "./sandbox-debug.js";
import { createSandboxSettings } from "./sandbox-settings.js";

const SNAPSHOT_GONE = ["SNAPSHOT_EXPIRED", "SNAPSHOT_NOT_FOUND", "SNAPSHOT_MISMATCH"];
const IDS = {
  panel: "sandbox-panel-body",
  runForm: "sandbox-run-form",
  inputs: "sandbox-inputs",
  runButton: "run-button",
  blocked: "run-blocked-reason",
  status: "run-status",
  results: "run-results",
  artifacts: "run-artifacts",
  actions: "next-actions",
  startOver: "start-over-button",
  message: "sandbox-message",
  debugBody: "debug-body",
  copyJson: "copy-debug-json",
  copyFallback: "debug-copy-fallback",
  reuse: "sandbox-reuse",
  reuseBox: "sandbox-reuse-files",
  reuseLabel: "sandbox-reuse-label",
};
const dom = {};

let inputForm = null;
let inputKey = null; // the input schema the form was built from
let busy = false;
let details = null; // the run shown
let snapshotId = null; // the snapshot the shown run (and its actions) ran
let actions = []; // the action forms shown
let filesSnapshot = { id: null, files: [] }; // session files a new run may reuse
let settings = null;

function versionUrl(suffix) {
  return `${core.urls.tool_versions}${core.lockState().headId}/${suffix}`;
}

const session = new ActionSession({
  start: (actionId, input, expectedStateRev) =>
    core.api.post(versionUrl("start-action"), {
      snapshot_id: snapshotId,
      action_id: actionId,
      input,
      expected_state_rev: expectedStateRev,
    }),
  loadStateRev: async () => {
    const url = versionUrl(`session?snapshot_id=${encodeURIComponent(snapshotId)}`);
    try {
      return (await core.api.get(url)).state_rev;
    } catch (error) {
      if (SNAPSHOT_GONE.includes(error.code)) {
        snapshotGone(describeError(error));
      } else if (error.code !== "SESSION_NOT_FOUND") {
        say(describeError(error), "error");
      }
      return null;
    } finally {
      refreshControls();
    }
  },
});

function say(text, level = null) {
  sayIn(dom.message, text, level);
}

// --- Blocking and the input form --------------------------------------------------------------

function blockReason() {
  if (!core.hasHead()) {
    return "Create a draft to edit: use Create draft above.";
  }
  if (core.lockState().elsewhere) {
    return "Read-only: you are editing this tool in another window.";
  }
  if (core.lockState().readOnly) {
    return "Read-only: you do not hold the draft lock.";
  }
  if (core.schemaProblems().length) {
    return "Fix the schema problems before running.";
  }
  return busy ? "A run is in progress." : "";
}

function refreshControls() {
  const reason = blockReason();
  dom.runButton.disabled = Boolean(reason);
  dom.blocked.textContent = busy ? "" : reason;
  dom.startOver.disabled = busy;
  setActionsDisabled(actions, Boolean(reason) || !snapshotId);
}

function rebuildInputs(snapshot, problems) {
  if (problems.some((problem) => problem.schema === "input_schema")) {
    return; // keep the last good form until the schema parses again
  }
  const fields = Array.isArray(snapshot.input_schema) ? snapshot.input_schema : [];
  const key = JSON.stringify(fields);
  if (key === inputKey) {
    return;
  }
  const raw = inputForm ? inputForm.rawValues() : {};
  const oldFiles = inputForm?.fileEntry()?.control.files;
  inputForm = buildForm(dom.inputs, fields, {
    scope: "input",
    idPrefix: "sandbox-input",
    initial: raw,
    fileId: "sandbox-files",
  });
  inputKey = key;
  const fileEntry = inputForm.fileEntry();
  if (fileEntry && oldFiles && oldFiles.length) {
    fileEntry.control.files = oldFiles;
  }
  if (!fields.length) {
    dom.inputs.append(el("p", { class: "hint" }, "This tool asks for no inputs."));
  }
  renderReuseOption();
}

function renderReuseOption() {
  dom.reuse.hidden = !(inputForm?.fileEntry() && filesSnapshot.files.length);
  if (dom.reuse.hidden) {
    return;
  }
  const names = filesSnapshot.files.map((file) => file.name).join(", ");
  dom.reuseLabel.textContent = `When no file is chosen, reuse the ${filesSnapshot.files.length} file(s) of the previous run: ${names}`;
}

function reusing() {
  return !dom.reuse.hidden && dom.reuseBox.checked && inputForm.files().length === 0;
}

function onEditorChange() {
  const snapshot = core.snapshot();
  const problems = core.schemaProblems();
  rebuildInputs(snapshot, problems);
  settings.update(snapshot, problems, core.lockState());
  refreshControls();
}

// --- Runs and actions -------------------------------------------------------------------------

function setBusy(value) {
  busy = value;
  dom.panel.setAttribute("aria-busy", value ? "true" : "false");
  refreshControls();
}

function runForm() {
  const { values, errors } = inputForm.read(reusing() ? filesSnapshot.files.length : 0);
  inputForm.showErrors(errors);
  if (Object.keys(errors).length) {
    return null;
  }
  const form = new FormData();
  form.append("snapshot", JSON.stringify(core.snapshot()));
  form.append("inputs", JSON.stringify(values));
  for (const file of inputForm.files()) {
    form.append("files", file, file.name);
  }
  if (reusing()) {
    form.append("session_files_mode", "reuse");
    form.append("session_context", `sandbox:${filesSnapshot.id}`);
  } else {
    form.append("session_files_mode", "none");
  }
  return form;
}

// Send a run or an action, then follow the accepted run; failures are said in the panel.
function runAndFollow(send, onRefused) {
  say("");
  return sendAndFollow({
    send,
    follow,
    statusElement: dom.status,
    setBusy,
    onRefused,
    onLost: (error) =>
      say(`${describeError(error)} The run may still finish: see the debug panel later.`, "error"),
  });
}

function startRun(event) {
  event.preventDefault();
  if (blockReason()) {
    return;
  }
  const form = runForm();
  if (!form) {
    say("Fix the marked inputs first.", "error");
    return;
  }
  runAndFollow(
    async () => {
      const accepted = await core.api.postForm(versionUrl("run-sandbox"), form);
      snapshotId = accepted.snapshot_id;
      session.forget();
      return accepted;
    },
    (error) => {
      if (error.code === "VALIDATION_ERROR") {
        inputForm.showServerErrors(error.details, error.message);
      }
      say(describeError(error), "error");
    },
  );
}

function submitAction(entry, values) {
  if (blockReason() || !snapshotId) {
    return;
  }
  runAndFollow(
    () => session.submit(entry, values),
    (error) => {
      if (SNAPSHOT_GONE.includes(error.code)) {
        snapshotGone(describeError(error));
      } else {
        say(error.text || describeError(error), error.text ? "warning" : "error");
      }
    },
  );
}

function snapshotGone(text) {
  snapshotId = null; // its actions can no longer run: only a new sandbox run helps
  dom.runForm.hidden = false;
  say(/sandbox again/i.test(text) ? text : `${text} Run the sandbox again to continue.`, "error");
  refreshControls();
}

// After a run or action is accepted: poll it, render it, then read the session's revision.
async function follow(runId, startedAt) {
  const finished = await followRun({
    fetchRun: () => core.api.get(`${core.urls.tool_runs}${runId}`),
    pollMs: core.boot.poll_ms || 1500,
    startedAt,
    statusElement: dom.status,
  });
  const { failed } = session.settle(finished);
  if (failed) {
    showFailedAction(failed);
  } else {
    show(finished);
  }
  const tasks = [];
  if (actions.length) {
    tasks.push(session.reload());
  }
  if (inputForm?.fileEntry() && !finished.action_id) {
    tasks.push(loadSessionFiles(finished));
  }
  await Promise.all(tasks);
}

function show(shown) {
  details = shown;
  renderRunResult(dom.results, shown);
  core.markSourceError(shown.error_location, shown.error_summary);
  dom.results.dataset.runId = shown.run_id;
  renderArtifacts(dom.artifacts, shown.artifacts);
  renderDebug(dom.debugBody, shown);
  dom.copyJson.disabled = false;
  actions = renderActions(dom.actions, shown.ui_payload?.next_actions || [], submitAction);
  // While a multi-step session offers actions, the input form waits behind "Start over".
  dom.runForm.hidden = actions.length > 0;
  dom.startOver.hidden = false;
  dom.results.hidden = false;
  refreshControls(); // the new action buttons wait while this run is still being followed
}

// A failed action: the last good result and its actions stay; the debug panel shows the failed
// run (its stderr is what the author needs).
function showFailedAction(failed) {
  details = failed;
  renderDebug(dom.debugBody, failed);
  say(actionFailureText(failed, actions), "error");
  refreshControls();
}

async function loadSessionFiles(run) {
  const url = versionUrl(`session-files?snapshot_id=${encodeURIComponent(run.snapshot_id)}`);
  try {
    const answer = await core.api.get(url);
    filesSnapshot = { id: run.snapshot_id, files: answer.files || [] };
    renderReuseOption();
  } catch {
    // without the list the next run simply cannot offer to reuse the files
  }
}

function startOver() {
  core.markSourceError(null);
  snapshotId = null;
  session.forget();
  details = null;
  dom.results.replaceChildren();
  dom.results.hidden = true;
  delete dom.results.dataset.runId;
  renderArtifacts(dom.artifacts, []);
  actions = renderActions(dom.actions, [], submitAction);
  renderDebug(dom.debugBody, null);
  dom.copyJson.disabled = true;
  dom.status.textContent = "";
  dom.runForm.hidden = false;
  dom.startOver.hidden = true;
  say("");
  refreshControls();
}

async function copyDebugJson() {
  if (details && (await copyJson(details, dom.copyFallback))) {
    say("Run details copied to the clipboard as JSON.", "ok");
  }
}

// --- Start ------------------------------------------------------------------------------------

// Start the panel; `ready` is the editor's start (the form is built once the content is in).
export function startSandboxPanel(ready) {
  for (const [name, id] of Object.entries(IDS)) {
    dom[name] = byId(id);
  }
  settings = createSandboxSettings({
    post: (suffix, body) => core.api.post(versionUrl(suffix), body),
    put: (suffix, body) => core.api.put(versionUrl(suffix), body),
  });
  dom.runForm.addEventListener("submit", startRun);
  dom.startOver.addEventListener("click", startOver);
  dom.copyJson.addEventListener("click", copyDebugJson);
  for (const name of ["schemas-changed", "lock-changed", "head-changed"]) {
    core.events.addEventListener(name, onEditorChange);
  }
  renderDebug(dom.debugBody, null);
  refreshControls();
  ready.then(onEditorChange);
}
