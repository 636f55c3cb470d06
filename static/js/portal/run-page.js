// The run page of a published tool (templates/portal/tool_run.html): usage instructions, personal
// settings, the input form, the run and its results, next actions continuing the production
// session, Start over. Everything goes through the runtime API (docs/api.md, "Published tools")
// with the shared modules; the URLs come in the page's boot document.
import { createApi } from "../shared/api.js";
import { byId, el, readJsonScript, say } from "../shared/dom.js";
import { buildForm } from "../shared/form.js";
import { renderMarkdown } from "../shared/markdown.js";
import { describeError } from "../shared/messages.js";
import {
  ActionSession,
  actionFailureText,
  renderActions,
  setActionsDisabled,
} from "../shared/next-actions.js";
import { followRun, sendAndFollow } from "../shared/run-progress.js";
import { renderArtifacts, renderRunResult } from "../shared/run-results.js";
import { SettingsForm } from "../shared/settings-form.js";

const GONE_TEXT =
  "This tool is no longer published (or no longer open to you), so it cannot run now. Runs already started still finish. Reload the page once it is published again.";
const boot = readJsonScript("run-page-boot");
const { urls } = boot;
const api = createApi({ csrfToken: boot.csrf_token });
const dom = {};

let inputForm = null;
let actions = []; // the action forms shown
let storedFiles = []; // the session files a new run may reuse
let busy = false;
let gone = false; // the tool was depublished (or hidden) while the page was open

const session = new ActionSession({
  start: (actionId, input, expectedStateRev) =>
    api.post(urls.start_action, {
      tool_id: boot.tool_id,
      context: boot.session_context,
      action_id: actionId,
      input,
      expected_state_rev: expectedStateRev,
    }),
  loadStateRev: async () => {
    try {
      return (await api.get(urls.session)).session_state.state_rev;
    } catch (error) {
      refused(error);
      return null;
    }
  },
});

// A refusal of the tool itself (404 on one of its URLs) means it is no longer runnable by us.
function isGone(error) {
  return error.status === 404 && error.code === "NOT_FOUND";
}

function refused(error) {
  if (isGone(error)) {
    toolGone();
  } else {
    say(dom.runMessage, error.text || describeError(error), error.text ? "warning" : "error");
  }
}

function toolGone() {
  gone = true;
  say(dom.pageMessage, GONE_TEXT, "error");
  say(dom.runMessage, GONE_TEXT, "error");
  refreshControls();
}

function refreshControls() {
  const blocked = busy || gone || !inputForm;
  dom.runButton.disabled = blocked;
  dom.startOver.disabled = busy;
  setActionsDisabled(actions, busy || gone);
  dom.page.setAttribute("aria-busy", busy ? "true" : "false");
}

// --- Usage instructions -----------------------------------------------------------------------

// Open the first time and after they change, collapsed once seen: showing them open marks them
// seen (the hash of the text shown, so a newer text stays unseen).
function showInstructions(runtime) {
  const text = runtime.usage_instructions || "";
  dom.usage.hidden = !text.trim();
  if (dom.usage.hidden) {
    return;
  }
  renderMarkdown(dom.usageBody, text);
  dom.usageDetails.open = !runtime.usage_instructions_seen;
  dom.usage.dataset.seen = String(runtime.usage_instructions_seen);
  if (!runtime.usage_instructions_seen) {
    api
      .post(urls.seen, { usage_instructions_hash: runtime.usage_instructions_hash })
      .then(() => {
        dom.usage.dataset.seen = "true";
      })
      .catch(() => {}); // not remembered: they are simply shown open again next time
  }
}

// --- Settings ---------------------------------------------------------------------------------

function startSettings() {
  dom.settingsPanel.hidden = false;
  const form = new SettingsForm({
    elements: {
      form: byId("settings-form"),
      fields: byId("settings-fields"),
      save: byId("settings-save"),
      status: byId("settings-status"),
    },
    idPrefix: "setting",
    load: () => api.get(urls.settings),
    save: async (rev, values) => {
      try {
        return await api.put(urls.settings, { expected_state_rev: rev, values });
      } catch (error) {
        if (isGone(error)) {
          toolGone();
        }
        throw error;
      }
    },
    texts: {
      saved: "Settings saved. Your next run uses them.",
      conflict:
        "Your settings were changed elsewhere (another tab?): the stored values were reloaded — check them and save again.",
    },
  });
  return form.reload();
}

// --- The input form and session files ---------------------------------------------------------

function buildInputs(runtime) {
  const fields = Array.isArray(runtime.input_schema) ? runtime.input_schema : [];
  inputForm = buildForm(dom.inputs, fields, {
    scope: "input",
    idPrefix: "input",
    fileId: "run-files",
    uploadLimits: runtime.upload_constraints,
  });
  if (!fields.length) {
    dom.inputs.append(el("p", { class: "hint" }, "This tool asks for no inputs."));
  }
  dom.filesNote.hidden = !inputForm.fileEntry();
}

async function loadStoredFiles() {
  if (!inputForm.fileEntry()) {
    return;
  }
  try {
    storedFiles = (await api.get(urls.session_files)).files || [];
  } catch {
    storedFiles = []; // without the list a run simply cannot offer to reuse them
  }
  renderReuseOption();
}

function renderReuseOption() {
  dom.reuse.hidden = !(inputForm.fileEntry() && storedFiles.length);
  const names = storedFiles.map((file) => file.name).join(", ");
  dom.reuseLabel.textContent = `When no file is chosen, reuse the ${storedFiles.length} file(s) of your last run: ${names}`;
}

// The run's body: multipart with the chosen files, else JSON. Without new files the stored ones
// are reused (box ticked) or cleared, so a new run never inherits files it was not given.
function runBody() {
  const reuse = !dom.reuse.hidden && dom.reuseBox.checked && inputForm.files().length === 0;
  const { values, errors } = inputForm.read(reuse ? storedFiles.length : 0);
  inputForm.showErrors(errors);
  if (Object.keys(errors).length) {
    return null;
  }
  const files = inputForm.files();
  if (files.length) {
    const form = new FormData();
    form.append("inputs", JSON.stringify(values));
    for (const file of files) {
      form.append("files", file, file.name);
    }
    return { form };
  }
  const mode = reuse ? "reuse" : inputForm.fileEntry() ? "clear" : "none";
  return { json: { inputs: values, session_files_mode: mode } };
}

// --- Runs and actions -------------------------------------------------------------------------

// Send a run or an action, then follow the accepted run to its result.
function runAndFollow(send, onRefused) {
  say(dom.runMessage, "");
  return sendAndFollow({
    send,
    follow,
    statusElement: dom.status,
    setBusy: (value) => {
      busy = value;
      refreshControls();
    },
    onRefused,
    onLost: (error) =>
      say(
        dom.runMessage,
        `${describeError(error)} Reload the page to see whether it finished.`,
        "error",
      ),
  });
}

function startRun(event) {
  event.preventDefault();
  if (busy || gone) {
    return;
  }
  const body = runBody();
  if (!body) {
    say(dom.runMessage, "Fix the marked inputs first.", "error");
    return;
  }
  runAndFollow(
    () => api.request("POST", urls.run, body),
    (error) => {
      if (error.code === "VALIDATION_ERROR") {
        inputForm.showServerErrors(error.details, error.message);
      }
      refused(error);
    },
  );
}

function submitAction(entry, values) {
  if (busy || gone) {
    return;
  }
  runAndFollow(() => session.submit(entry, values), refused);
}

async function follow(runId, startedAt) {
  const details = await followRun({
    fetchRun: () => api.get(`${urls.runs}${runId}`),
    pollMs: boot.poll_ms,
    startedAt,
    statusElement: dom.status,
  });
  const { failed } = session.settle(details);
  if (failed) {
    // The session kept its last good state: so does the page.
    say(dom.runMessage, actionFailureText(failed, actions), "error");
  } else {
    show(details);
  }
  const tasks = [];
  if (actions.length) {
    tasks.push(session.reload());
  }
  if (!details.action_id && inputForm.fileEntry()) {
    // A first run's uploads became the session's files: the picker empties, and the next run
    // offers them for reuse instead of sending them again.
    inputForm.fileEntry().control.value = "";
    tasks.push(loadStoredFiles());
  }
  await Promise.all(tasks);
}

function show(details) {
  renderRunResult(dom.results, details);
  dom.results.dataset.runId = details.run_id;
  dom.results.hidden = false;
  renderArtifacts(dom.artifacts, details.artifacts);
  actions = renderActions(dom.actions, details.ui_payload?.next_actions || [], submitAction);
  // While the session offers next steps, the form waits behind "Start over".
  dom.form.hidden = actions.length > 0;
  dom.startOver.hidden = !dom.form.hidden;
  dom.startOverHint.hidden = dom.startOver.hidden;
  refreshControls();
}

function startOver() {
  session.forget();
  actions = renderActions(dom.actions, [], submitAction);
  dom.results.replaceChildren();
  dom.results.hidden = true;
  delete dom.results.dataset.runId;
  renderArtifacts(dom.artifacts, []);
  dom.status.textContent = "";
  say(dom.runMessage, "");
  dom.form.hidden = false;
  dom.startOver.hidden = true;
  dom.startOverHint.hidden = true;
  refreshControls();
  dom.runButton.focus();
}

// --- Start ------------------------------------------------------------------------------------

const IDS = {
  page: "run-page",
  pageMessage: "page-message",
  usage: "usage",
  usageDetails: "usage-details",
  usageBody: "usage-body",
  settingsPanel: "settings-panel",
  form: "run-form",
  inputs: "run-inputs",
  reuse: "reuse-files",
  reuseBox: "reuse-files-box",
  reuseLabel: "reuse-files-label",
  filesNote: "files-note",
  runButton: "run-button",
  status: "run-status",
  runMessage: "run-message",
  results: "run-results",
  artifacts: "run-artifacts",
  actions: "next-actions",
  startOver: "start-over-button",
  startOverHint: "start-over-hint",
};

async function start() {
  for (const [name, id] of Object.entries(IDS)) {
    dom[name] = byId(id);
  }
  dom.form.addEventListener("submit", startRun);
  dom.startOver.addEventListener("click", startOver);
  let runtime;
  try {
    runtime = await api.get(urls.runtime);
  } catch (error) {
    dom.inputs.replaceChildren();
    if (isGone(error)) {
      toolGone();
    } else {
      say(dom.pageMessage, describeError(error), "error");
    }
    return;
  }
  showInstructions(runtime);
  buildInputs(runtime);
  refreshControls();
  await Promise.all([loadStoredFiles(), runtime.has_settings ? startSettings() : null]);
  dom.page.dataset.ready = "true";
}

start();
