/* The tool editor page: window.SkEditor (see notes/editor-contract.md) and the page's wiring.
 * Loaded after the bundle (SkBundle), editor-schemas.js and editor-lock.js; sandbox-panel.js
 * uses only window.SkEditor. Every write goes to the JSON API with the CSRF token and, while this
 * page holds the draft lock, its fencing token. */
(function () {
  "use strict";

  const boot = JSON.parse(document.getElementById("editor-boot").textContent);
  const urls = boot.urls;
  const $ = (id) => document.getElementById(id);
  const View = window.SkEditorView;

  // One human message per error code of the editor, lock, run and sandbox APIs.
  const MESSAGES = {
    DRAFT_LOCK_REQUIRED: "You do not hold the editing lock on this draft, so nothing was written.",
    DRAFT_LOCK_EXPIRED: "Your editing lock expired. The page is taking it again; then try once more.",
    DRAFT_LOCK_HELD: "Someone else holds the editing lock on this draft; the page is read-only for you.",
    DRAFT_LOCK_STALE_TOKEN: "The editing lock was taken again since this page got it (another tab or a takeover); nothing was written.",
    DRAFT_HEAD_MOVED: "The draft was saved elsewhere since you loaded it. Reload the page; your unsaved changes are kept in this browser.",
    NOT_DRAFT_HEAD: "This version is no longer the draft being edited. Reload the page to get the current draft.",
    FORCE_REQUIRES_ADMIN: "Only admins can take over another person's editing lock.",
    VALIDATION_ERROR: "Some values are not valid.",
    PUBLISH_REQUIREMENTS: "Before review the tool needs a real slug (not draft-…), a profession and a category; an admin sets them.",
    WRONG_VERSION_STATE: "This version is not in a state that allows this.",
    ADMIN_REQUIRED: "This needs the global role admin.",
    SUPERUSER_REQUIRED: "This needs the global role superuser.",
    SNAPSHOT_NOT_FOUND: "That sandbox run is gone. Run the sandbox again.",
    SNAPSHOT_EXPIRED: "That sandbox run has expired. Run the sandbox again.",
    SNAPSHOT_MISMATCH: "That sandbox run belongs to another draft. Run the sandbox again.",
    SESSION_NOT_FOUND: "There is no sandbox session yet. Run the tool first.",
    STATE_REV_CONFLICT: "The tool's state changed since this form was shown (another action ran). The state was reloaded; try again.",
    ACTION_NOT_OFFERED: "The last run no longer offers this action. Use one of the actions shown now.",
    RUN_LIMIT_REACHED: "You have too many runs queued or running. Wait for one to finish, then run again.",
    RUNNER_UNAVAILABLE: "The sandbox runner is not available right now. Try again in a moment.",
    SERVICE_UNAVAILABLE: "The service is not available right now. Try again in a moment.",
    PREVIEW_READ_ONLY: "A sandbox preview may read collections but not write them; test writing tools in a sandbox project.",
    PAYLOAD_TOO_LARGE: "This is too large to send.",
    RESULT_TOO_LARGE: "The result is too large; narrow the request.",
    INVALID_SLUG: "That slug is not valid.",
    INVALID_LOCK_TOKEN: "The page sent a malformed lock token. Reload the page.",
    MAINTAINER_RULE: "That maintainer change is not allowed.",
    THROTTLED: "Too many requests. Wait a moment and try again.",
    RATE_LIMITED: "Too many requests. Wait a moment and try again.",
    UNAUTHENTICATED: "You are signed out. Sign in again in another tab; your unsaved changes are kept in this browser.",
    FORBIDDEN: "You are not allowed to do this (or the page's security token is stale: reload it).",
    NOT_FOUND: "Not found: it may have been deleted, or you no longer have access.",
    PARSE_ERROR: "The server could not read the request.",
    BAD_REQUEST: "The request was malformed.",
    INVALID_ID: "The request named a malformed id.",
    CONFLICT: "This conflicts with a change made meanwhile. Reload and try again.",
    INTERNAL_ERROR: "The server failed. Try again; if it keeps failing, tell an admin.",
    NETWORK_ERROR: "The server could not be reached. Check the connection and try again.",
  };
  const LOCK_CODES = new Set(["DRAFT_LOCK_REQUIRED", "DRAFT_LOCK_EXPIRED", "DRAFT_LOCK_HELD", "DRAFT_LOCK_STALE_TOKEN", "DRAFT_HEAD_MOVED", "NOT_DRAFT_HEAD"]);

  const state = { toolId: boot.tool_id, headId: null, lockToken: null, holdsLock: false, readOnly: true, lockHolder: null };
  const page = { doc: null, saved: null, editors: {}, busy: false, stale: false, booted: false, signature: "", restoredFrom: null, editable: null, metadataDirty: false };
  const schemaState = { input_schema: [], settings_schema: null, problems: [], pending: false };

  /* ---- messages and the API ---- */

  function message(code, fallback) {
    return MESSAGES[code] || fallback || `Something went wrong (${code || "unknown error"}).`;
  }

  function notify(text, level = "info") {
    const list = $("editor-messages");
    const item = document.createElement("li");
    item.className = `message ${level}`;
    item.textContent = text;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "dismiss";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    close.addEventListener("click", () => item.remove());
    item.append(close);
    list.prepend(item);
    while (list.children.length > 4) list.lastElementChild.remove();
    if (level === "info" || level === "success") setTimeout(() => item.remove(), 8000);
  }

  function notifyError(response) {
    const error = (response.json && response.json.error) || {};
    let text = message(error.code, error.message);
    if (error.message && MESSAGES[error.code] && error.message !== text) text += ` (${error.message})`;
    const details = describeDetails(error.details || {});
    if (details) text += ` ${details}`;
    notify(text, "error");
  }

  /* VALIDATION_ERROR details as text: `details.fields` {field: [messages]} or `details.issues`
   * [{schema, path, message}]. */
  function describeDetails(details) {
    const parts = [];
    for (const [field, messages] of Object.entries(details.fields || {})) {
      parts.push(`${field}: ${[].concat(messages).map((item) => (typeof item === "string" ? item : JSON.stringify(item))).join(" ")}`);
    }
    for (const issue of details.issues || []) {
      parts.push(`${[issue.schema, issue.path].filter(Boolean).join(" ")}: ${issue.message}`);
    }
    return parts.join("; ");
  }

  async function api(method, path, body, options = {}) {
    const url = path.startsWith("/") ? path : urls.api + path;
    const headers = { Accept: "application/json", "X-CSRFToken": boot.csrf_token, ...(options.headers || {}) };
    if (state.holdsLock && state.lockToken != null) headers["X-Draft-Lock-Token"] = String(state.lockToken);
    let payload;
    if (options.form) {
      payload = options.form instanceof FormData ? options.form : toFormData(options.form);
    } else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, { method, headers, body: payload, credentials: "same-origin" });
    } catch (error) {
      return { status: 0, ok: false, json: { error: { code: "NETWORK_ERROR", message: String(error), details: {} } } };
    }
    let json = null;
    try {
      json = await response.json();
    } catch (error) {
      json = null;
    }
    if (!response.ok && !(json && json.error)) json = { error: { code: `HTTP_${response.status}`, message: `HTTP ${response.status}`, details: {} } };
    // A lock error means this page's idea of the lock is out of date: re-read it at once.
    if (!response.ok && LOCK_CODES.has(json.error.code) && url !== urls.lock && lock) lock.check();
    return { status: response.status, ok: response.ok, json };
  }

  function toFormData(fields) {
    const form = new FormData();
    for (const [key, value] of Object.entries(fields)) {
      for (const item of Array.isArray(value) ? value : [value]) form.append(key, item);
    }
    return form;
  }

  /* ---- editors and content ---- */

  function schemaText(value) {
    return value === null || value === undefined ? "" : JSON.stringify(value, null, 2);
  }

  function textsOf(doc) {
    return {
      entrypoint: doc.entrypoint || "",
      source_code: doc.source_code || "",
      input_schema: schemaText(doc.input_schema),
      settings_schema: schemaText(doc.settings_schema),
      usage_instructions: doc.usage_instructions || "",
    };
  }

  function currentTexts() {
    return {
      entrypoint: $("entrypoint").value,
      source_code: page.editors.source.getValue(),
      input_schema: page.editors.input.getValue(),
      settings_schema: page.editors.settings.getValue(),
      usage_instructions: $("usage-instructions").value,
    };
  }

  function setTexts(texts) {
    $("entrypoint").value = texts.entrypoint;
    page.editors.source.setValue(texts.source_code);
    page.editors.input.setValue(texts.input_schema);
    page.editors.settings.setValue(texts.settings_schema);
    $("usage-instructions").value = texts.usage_instructions;
    render();
    checkSchemas();
  }

  function isDirty() {
    if (!page.saved) return false;
    const now = currentTexts();
    return Object.keys(now).some((key) => now[key] !== page.saved[key]);
  }

  let bufferTimer = null;
  function edited() {
    clearTimeout(bufferTimer);
    bufferTimer = setTimeout(keepBuffer, 400);
    render();
  }

  function keepBuffer() {
    clearTimeout(bufferTimer);
    if (!page.saved) return;
    if (isDirty()) {
      const version = (page.doc && page.doc.selected_version) || {};
      SkEditorLock.keepBuffer(state.toolId, state.headId, { content: currentTexts(), version_number: version.version_number || null });
    } else {
      SkEditorLock.forgetBuffer(state.toolId, state.headId);
    }
  }

  /* ---- schemas ---- */

  const checker = SkEditorSchemas.createChecker({
    api: (method, url, body) => api(method, url, body),
    url: urls.validate_schemas,
    delayMs: 400,
    onResult(result) {
      Object.assign(schemaState, { input_schema: result.input_schema, settings_schema: result.settings_schema, problems: result.problems, pending: result.pending });
      View.renderProblems(result.problems, page.editors);
      render();
      if (!result.pending) {
        document.dispatchEvent(new CustomEvent("sk:schemas-changed", { detail: { input_schema: result.input_schema, settings_schema: result.settings_schema, problems: result.problems.slice() } }));
      }
    },
  });

  function checkSchemas() {
    checker.check({ input_schema: page.editors.input.getValue(), settings_schema: page.editors.settings.getValue() });
  }

  function snapshot() {
    const texts = page.editors.source ? currentTexts() : textsOf(page.doc || {});
    // The checker parses on every change; a schema that does not parse is null here.
    return {
      entrypoint: texts.entrypoint,
      source_code: texts.source_code,
      input_schema: schemaState.input_schema,
      settings_schema: schemaState.settings_schema,
      usage_instructions: texts.usage_instructions,
    };
  }

  /* ---- rendering ---- */

  /* The name of a user the lock answer did not name: the page knows only its own user (the
     lock API names the holder, so no list of other people is sent with the page). */
  function people(id) {
    if (id === null || id === undefined) return null;
    if (id === boot.user.id) return boot.user.email;
    return `user #${id}`;
  }

  function render() {
    const editable = state.holdsLock && !page.stale && !page.busy;
    if (editable !== page.editable) {
      page.editable = editable;
      for (const editor of Object.values(page.editors)) editor.setReadOnly(!editable);
    }
    for (const id of ["entrypoint", "usage-instructions", "change-summary"]) $(id).readOnly = !editable;
    const blocked = schemaState.problems.length > 0 || schemaState.pending;
    $("save-button").disabled = !editable || blocked;
    $("submit-review-button").disabled = !editable || blocked || isDirty();
    $("submit-review-button").title = isDirty() ? "Save your changes first" : "";
    $("save-status").textContent = page.saved && isDirty() ? "Unsaved changes" : "";
    renderBadge();
  }

  function renderBadge() {
    const badge = $("lock-badge");
    const { text, kind } = View.lockBadge({ booted: page.booted, holdsLock: state.holdsLock, holder: state.lockHolder, name: people });
    badge.textContent = text;
    badge.dataset.lock = kind;
    const holder = state.lockHolder;
    badge.title = state.holdsLock && holder ? `Renewed every minute while this page is open; otherwise it lapses at ${View.hhmm(holder.expiresAt)}.` : "";
    const canTakeOver = boot.user.is_admin && kind === "other" && !page.stale;
    $("takeover-button").hidden = !canTakeOver;
    if (!canTakeOver) $("takeover-form").hidden = true;
    $("read-only-note").hidden = state.holdsLock || !page.booted || !hasHead();
  }

  function renderTool(doc) {
    $("tool-heading").textContent = doc.tool.title;
    for (const [id, value] of [["title", doc.tool.title], ["summary", doc.tool.summary]]) {
      if (document.activeElement !== $(id) && !page.metadataDirty) $(id).value = value;
    }
    View.renderDraftNotice(doc, hasHead());
    View.renderVersions(doc);
  }

  function hasHead() {
    return Boolean(page.doc && page.doc.draft_head_id);
  }

  /* ---- the boot document ---- */

  function applyDoc(doc, withContent) {
    const before = state.headId;
    page.doc = doc;
    state.headId = doc.draft_head_id || (doc.selected_version && doc.selected_version.id) || null;
    if (withContent) {
      page.saved = textsOf(doc);
      setTexts(page.saved);
    }
    renderTool(doc);
    if (before !== state.headId) document.dispatchEvent(new CustomEvent("sk:head-changed", { detail: { headId: state.headId } }));
    render();
  }

  function lockChanged() {
    if (!hasHead()) Object.assign(state, { holdsLock: false, readOnly: true, lockToken: null, lockHolder: null });
    render();
    const holder = state.lockHolder || {};
    const signature = [state.headId, state.holdsLock, state.lockToken, holder.id, holder.expiresAt].join("|");
    if (signature === page.signature) return;
    page.signature = signature;
    document.dispatchEvent(new CustomEvent("sk:lock-changed", { detail: publicState() }));
  }

  function lockLost(holder) {
    keepBuffer();
    const who = holder.email || people(holder.id) || "Someone";
    const kept = isDirty() ? " Your unsaved changes are kept in this browser: reload the page to restore them." : "";
    notify(`${who} took over the editing lock. This page is read-only now.${kept}`, "error");
  }

  async function headMoved(doc) {
    if (page.stale) return; // already told; only a reload helps
    if (isDirty()) {
      keepBuffer();
      page.stale = true;
      Object.assign(state, { holdsLock: false, readOnly: true, lockToken: null });
      notify("The draft was changed elsewhere. Reload the page to get it; your unsaved changes are kept in this browser.", "error");
      lockChanged();
      return;
    }
    applyDoc(doc, true);
    notify(doc.draft_head_id ? "The draft was updated elsewhere; the page now shows it." : "The draft was submitted or replaced elsewhere.", "info");
    await lock.acquire();
    lockChanged();
  }

  function publicState() {
    return Object.freeze({ ...state, lockHolder: state.lockHolder ? Object.freeze({ ...state.lockHolder }) : null });
  }

  const lock = SkEditorLock.create({
    boot,
    state,
    api,
    people,
    headId: () => (hasHead() ? page.doc.draft_head_id : null),
    hasHead,
    lockChanged,
    lockLost,
    headMoved,
    bootChanged: (doc) => {
      if (String(doc.draft_head_id || "") === String((page.doc && page.doc.draft_head_id) || "")) {
        page.doc = { ...page.doc, versions: doc.versions, tool: doc.tool };
        renderTool(page.doc);
      }
    },
    notify,
    notifyError,
  });

  /* ---- public interface ---- */

  const SkEditor = {
    api,
    message,
    notify,
    snapshot,
    schemaProblems: () => schemaState.problems.map((problem) => ({ ...problem })),
    get state() {
      return publicState();
    },
    ready: null,
  };
  window.SkEditor = SkEditor;
  window.SkEditorPage = { boot, page, render, applyDoc, hasHead, edited, checkSchemas, keepBuffer, isDirty, currentTexts, setTexts, textsOf, notifyError, lock, schemaState, lockChanged };

  async function start() {
    page.editors.source = View.createEditor("source-editor", "python", edited);
    const schemaEdited = () => {
      edited();
      checkSchemas();
    };
    page.editors.input = View.createEditor("input-schema-editor", "json", schemaEdited);
    page.editors.settings = View.createEditor("settings-schema-editor", "json", schemaEdited);
    const response = await api("GET", urls.boot);
    if (!response.ok) {
      notifyError(response);
      page.booted = true;
      render();
      return;
    }
    applyDoc(response.json, true);
    page.booted = true;
    if (hasHead()) await lock.acquire();
    lockChanged();
    lock.start();
    document.getElementById("editor-page").dataset.ready = "true";
  }

  SkEditor.ready = start().catch((error) => {
    notify(`The editor failed to start: ${error.message}`, "error");
  });
})();
