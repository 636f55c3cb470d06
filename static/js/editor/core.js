// The tool editor page's state and wiring: the boot document, the API (with the draft lock's
// fencing token while this page holds the lock), the code editors, the schema checks and the
// lock. buttons.js and sandbox-panel.js build on the functions exported here;
// the sandbox panel hears of changes through `events` ("schemas-changed", "lock-changed",
// "head-changed").
import { createApi } from "../shared/api.js";
import { readJsonScript, byId as $ } from "../shared/dom.js";
import { createLock, forgetBuffer, keepBuffer as storeBuffer } from "./lock.js";
import { notify, notifyError } from "./notices.js";

// The other modules tell the author through the same notifications.
export { notify, notifyError } from "./notices.js";
import { createChecker } from "./schemas.js";
import * as view from "./view.js";

export const boot = readJsonScript("editor-boot");
export const urls = boot.urls;
export const events = new EventTarget();

const LOCK_CODES = new Set([
  "DRAFT_LOCK_REQUIRED",
  "DRAFT_LOCK_EXPIRED",
  "DRAFT_LOCK_HELD",
  "DRAFT_LOCK_STALE_TOKEN",
  "DRAFT_HEAD_MOVED",
  "NOT_DRAFT_HEAD",
]);

const state = {
  toolId: boot.tool_id,
  headId: null,
  lockToken: null,
  holdsLock: false,
  readOnly: true,
  lockHolder: null,
  elsewhere: false, // another window of this user holds the lock
};
export const page = {
  doc: null,
  saved: null,
  editors: {},
  busy: false,
  stale: false,
  booted: false,
  signature: "",
  restoredFrom: null,
  editable: null,
  metadataDirty: false,
  // A version opened read-only from the history (history.js): {draft: the editors' texts
  // before}. The page is read-only meanwhile, and the draft's texts are what counts as unsaved.
  viewing: null,
};
const schemaState = { input_schema: [], settings_schema: null, problems: [], pending: false };

function emit(name, detail) {
  events.dispatchEvent(new CustomEvent(name, { detail }));
}

// --- The API ---------------------------------------------------------------------

// The lock is made below; a lock error seen before it exists has nothing to re-read yet.
let lock = null;

export const api = createApi({
  csrfToken: boot.csrf_token,
  headers: () =>
    state.holdsLock && state.lockToken !== null
      ? { "X-Draft-Lock-Token": String(state.lockToken) }
      : {},
  // A lock error means this page's idea of the lock is out of date: re-read it at once.
  onError: (error, url) => {
    if (LOCK_CODES.has(error.code) && url !== urls.lock) {
      lock?.check();
    }
  },
});

// --- Editors and content ----------------------------------------------------------------------

function schemaText(value) {
  return value === null || value === undefined ? "" : JSON.stringify(value, null, 2);
}

export function textsOf(doc) {
  return {
    entrypoint: doc.entrypoint || "",
    source_code: doc.source_code || "",
    input_schema: schemaText(doc.input_schema),
    settings_schema: schemaText(doc.settings_schema),
    usage_instructions: doc.usage_instructions || "",
  };
}

export function currentTexts() {
  return {
    entrypoint: $("entrypoint").value,
    source_code: page.editors.source.getValue(),
    input_schema: page.editors.input.getValue(),
    settings_schema: page.editors.settings.getValue(),
    usage_instructions: $("usage-instructions").value,
  };
}

export function setTexts(texts) {
  $("entrypoint").value = texts.entrypoint;
  page.editors.source.setValue(texts.source_code);
  page.editors.input.setValue(texts.input_schema);
  page.editors.settings.setValue(texts.settings_schema);
  $("usage-instructions").value = texts.usage_instructions;
  render();
  checkSchemas();
}

// The draft's texts: the editors', or while a version is open read-only, what they held before.
export function draftTexts() {
  return page.viewing ? page.viewing.draft : currentTexts();
}

export function isDirty() {
  if (!page.saved) {
    return false;
  }
  const now = draftTexts();
  return Object.keys(now).some((key) => now[key] !== page.saved[key]);
}

let bufferTimer = null;
export function edited() {
  clearTimeout(bufferTimer);
  bufferTimer = setTimeout(keepBuffer, 400);
  render();
}

// Keep the unsaved text in this browser (or forget it once it equals what was saved).
export function keepBuffer() {
  clearTimeout(bufferTimer);
  if (!page.saved) {
    return;
  }
  if (isDirty()) {
    const version = (page.doc && page.doc.selected_version) || {};
    const entry = { content: draftTexts(), version_number: version.version_number || null };
    storeBuffer(state.toolId, state.headId, entry);
  } else {
    forgetBuffer(state.toolId, state.headId);
  }
}

// --- Schemas ----------------------------------------------------------------------------------

const checker = createChecker({
  post: (url, body) => api.post(url, body),
  url: urls.validate_schemas,
  delayMs: 400,
  onResult(result) {
    const { input_schema: input, settings_schema: settings, problems, pending } = result;
    Object.assign(schemaState, {
      input_schema: input,
      settings_schema: settings,
      problems,
      pending,
    });
    view.renderProblems(problems, page.editors);
    render();
    if (!pending) {
      emit("schemas-changed", { input_schema: input, settings_schema: settings });
    }
  },
});

export function checkSchemas() {
  checker.check({
    input_schema: page.editors.input.getValue(),
    settings_schema: page.editors.settings.getValue(),
  });
}

// The unsaved content as a sandbox snapshot. The checker parses on every change; a schema that
// does not parse is null here.
export function snapshot() {
  const texts = page.editors.source ? currentTexts() : textsOf(page.doc || {});
  return {
    entrypoint: texts.entrypoint,
    source_code: texts.source_code,
    input_schema: schemaState.input_schema,
    settings_schema: schemaState.settings_schema,
    usage_instructions: texts.usage_instructions,
  };
}

// Mark where a sandbox run's code failed to compile (run details' error_location, 1-based line
// and column), or clear the mark (null).
export function markSourceError(location, message) {
  const source = page.editors.source;
  if (!source) {
    return;
  }
  const first = String(message || "").split("\n")[0];
  source.setDiagnostics(
    location
      ? [{ line: location.line, column: location.col, message: first, severity: "error" }]
      : [],
  );
}

export function schemaProblems() {
  return schemaState.problems.map((problem) => ({ ...problem }));
}

// --- Rendering --------------------------------------------------------------------------------

// The name of a user the lock answer did not name: the page knows only its own user (the lock
// API names the holder, so no list of other people is sent with the page).
function people(id) {
  if (id === null || id === undefined) {
    return null;
  }
  return id === boot.user.id ? boot.user.email : `user #${id}`;
}

export function hasHead() {
  return Boolean(page.doc && page.doc.draft_head_id);
}

export function render() {
  const editable = state.holdsLock && !page.stale && !page.busy && !page.viewing;
  if (editable !== page.editable) {
    page.editable = editable;
    for (const editor of Object.values(page.editors)) {
      editor.setReadOnly(!editable);
    }
  }
  for (const id of ["entrypoint", "usage-instructions", "change-summary"]) {
    $(id).readOnly = !editable;
  }
  const blocked = schemaState.problems.length > 0 || schemaState.pending;
  $("save-button").disabled = !editable || blocked;
  $("submit-review-button").disabled = !editable || blocked || isDirty();
  $("submit-review-button").title = isDirty() ? "Save your changes first" : "";
  $("save-status").textContent = page.saved && isDirty() ? "Unsaved changes" : "";
  renderBadge();
}

function renderBadge() {
  const badge = $("lock-badge");
  const holder = state.lockHolder;
  const { text, kind } = view.lockBadge({
    booted: page.booted,
    holdsLock: state.holdsLock,
    elsewhere: state.elsewhere,
    holder,
    name: people,
  });
  badge.textContent = text;
  badge.dataset.lock = kind;
  badge.title =
    state.holdsLock && holder
      ? `Renewed every minute while this page is open; otherwise it lapses at ${view.hhmm(holder.expiresAt)}.`
      : "";
  const canTakeOver = boot.user.is_admin && kind === "other" && !page.stale;
  $("takeover-button").hidden = !canTakeOver;
  if (!canTakeOver) {
    $("takeover-form").hidden = true;
  }
  $("take-back-button").hidden = kind !== "elsewhere" || page.stale;
  const takeover = !state.holdsLock && holder ? holder.takeover : null;
  $("lock-reason").hidden = !takeover;
  $("lock-reason").textContent = takeover ? view.takeoverText(holder, people) : "";
  $("read-only-note").hidden = state.holdsLock || !page.booted || !hasHead();
  $("read-only-note").textContent = state.elsewhere
    ? "Read-only: you are editing this tool in another window."
    : "Read-only: you do not hold the editing lock.";
}

function renderTool(doc) {
  $("tool-heading").textContent = doc.tool.title;
  for (const [id, value] of [
    ["title", doc.tool.title],
    ["summary", doc.tool.summary],
  ]) {
    if (document.activeElement !== $(id) && !page.metadataDirty) {
      $(id).value = value;
    }
  }
  view.renderDraftNotice(doc, hasHead());
  view.renderVersions(doc);
}

// --- The boot document and the lock -----------------------------------------------------------

export function applyDoc(doc, withContent) {
  const before = state.headId;
  page.doc = doc;
  state.headId = doc.draft_head_id || (doc.selected_version && doc.selected_version.id) || null;
  $("editor-page").dataset.headId = state.headId || "";
  if (withContent) {
    page.saved = textsOf(doc);
    setTexts(page.saved);
  }
  renderTool(doc);
  if (before !== state.headId) {
    emit("head-changed", { headId: state.headId });
  }
  render();
}

// A frozen copy of the lock state for the other modules.
export function lockState() {
  const holder = state.lockHolder ? Object.freeze({ ...state.lockHolder }) : null;
  return Object.freeze({ ...state, lockHolder: holder });
}

export function lockChanged() {
  if (!hasHead()) {
    Object.assign(state, { holdsLock: false, readOnly: true, lockToken: null, lockHolder: null });
  }
  render();
  const holder = state.lockHolder || {};
  const signature = [state.headId, state.holdsLock, state.lockToken, holder.id, holder.expiresAt];
  if (signature.join("|") === page.signature) {
    return;
  }
  page.signature = signature.join("|");
  emit("lock-changed", lockState());
}

function keptText() {
  return isDirty()
    ? " Your unsaved changes are kept in this browser: reload the page to restore them."
    : "";
}

function lockLost(holder) {
  keepBuffer();
  const who = holder.email || people(holder.id) || "Someone";
  const reason = holder.takeover ? `: “${holder.takeover.reason}”` : "";
  notify(
    `${who} took over the editing lock${reason}. This page is read-only now.${keptText()}`,
    "error",
  );
}

// Another window of this user took the lock (a new token): this one must stop editing.
function lockTakenElsewhere() {
  keepBuffer();
  const kept = isDirty()
    ? " Your unsaved changes are kept in this browser: “Edit in this window” or a reload brings them back."
    : "";
  notify(`You opened this tool in another window; this one is read-only now.${kept}`, "error");
}

async function headMoved(doc) {
  if (page.stale) {
    return; // already told; only a reload helps
  }
  if (isDirty()) {
    keepBuffer();
    page.stale = true;
    Object.assign(state, { holdsLock: false, readOnly: true, lockToken: null });
    notify(
      "The draft was changed elsewhere. Reload the page to get it; your unsaved changes are kept in this browser.",
      "error",
    );
    lockChanged();
    return;
  }
  applyDoc(doc, true);
  notify(
    doc.draft_head_id
      ? "The draft was updated elsewhere; the page now shows it."
      : "The draft was submitted or replaced elsewhere.",
    "info",
  );
  await lock.acquire();
  lockChanged();
}

function bootChanged(doc) {
  if (String(doc.draft_head_id || "") === String((page.doc && page.doc.draft_head_id) || "")) {
    page.doc = { ...page.doc, versions: doc.versions, tool: doc.tool };
    renderTool(page.doc);
  }
}

lock = createLock({
  boot,
  state,
  api,
  people,
  headId: () => (hasHead() ? page.doc.draft_head_id : null),
  hasHead,
  lockChanged,
  lockLost,
  lockTakenElsewhere,
  headMoved,
  bootChanged,
  notify,
  notifyError,
});

export function acquireLock(options) {
  return lock.acquire(options);
}

// --- Start ------------------------------------------------------------------------------------

async function start() {
  page.editors.source = view.createEditor("source-editor", "python", edited);
  function schemaEdited() {
    edited();
    checkSchemas();
  }
  page.editors.input = view.createEditor("input-schema-editor", "json", schemaEdited);
  page.editors.settings = view.createEditor("settings-schema-editor", "json", schemaEdited);
  let doc;
  try {
    doc = await api.get(urls.boot);
  } catch (error) {
    notifyError(error);
    page.booted = true;
    render();
    return;
  }
  applyDoc(doc, true);
  page.booted = true;
  if (hasHead()) {
    await lock.acquire();
  }
  lockChanged();
  lock.start();
  $("editor-page").dataset.ready = "true";
}

// Start the page; the promise resolves once the boot document is shown and the lock asked for.
export function startEditor() {
  return start().catch((error) => {
    notify(`The editor failed to start: ${error.message}`, "error");
  });
}
