// Rendering helpers of the editor page: functions from data to DOM with no state of their own,
// and the construction of the code editors (CodeMirror 6 from the vendor module).
import { createCodeEditor } from "../../vendor/skriptoteket-editor-2.0.0.min.js";
import { byId as $ } from "../shared/dom.js";

function pad(number) {
  return String(number).padStart(2, "0");
}

// HH:MM in the browser's time zone.
export function hhmm(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? "?" : `${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

// YYYY-MM-DD HH:MM in the browser's time zone (the other pages' date style).
export function dateTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    return "";
  }
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${hhmm(iso)}`;
}

function stateLabel(state) {
  return String(state || "").replace("_", " ");
}

// The lock badge: {text, kind} for "mine", "elsewhere" (this user, another window), "other" or
// "none".
export function lockBadge({ booted, holdsLock, elsewhere, holder, name }) {
  if (!booted) {
    return { text: "Checking the lock…", kind: "none" };
  }
  if (holdsLock) {
    return { text: "You are editing", kind: "mine" };
  }
  if (elsewhere) {
    return { text: "You are editing in another window", kind: "elsewhere" };
  }
  if (holder && holder.id !== null && holder.id !== undefined) {
    const who = holder.email || name(holder.id);
    return { text: `Locked by ${who} until ${hhmm(holder.expiresAt)}`, kind: "other" };
  }
  return { text: "Not locked", kind: "none" };
}

// "Taken over by X at HH:MM: “reason”" for the author an admin's takeover displaced.
export function takeoverText(holder, name) {
  const { takeover } = holder;
  const who = holder.email || name(takeover.by_user_id) || "an admin";
  const when = takeover.taken_at ? ` at ${hhmm(takeover.taken_at)}` : "";
  return `Taken over by ${who}${when}: “${takeover.reason}”`;
}

function versionItem(version, doc, shown) {
  const item = document.createElement("li");
  item.dataset.state = version.state;
  item.dataset.versionId = version.id;
  const number = document.createElement("strong");
  number.textContent = `v${version.version_number}`;
  const badge = document.createElement("span");
  badge.className = `badge state-${version.state}`;
  badge.textContent = stateLabel(version.state);
  const time = document.createElement("time");
  time.dateTime = version.created_at;
  time.textContent = dateTime(version.created_at);
  const marks = document.createElement("span");
  marks.className = "muted marks";
  marks.textContent = [
    version.id === doc.draft_head_id ? "head" : null,
    version.id === doc.tool.active_version_id ? "live" : null,
    version.id === shown ? "shown" : null,
  ]
    .filter(Boolean)
    .join(" · ");
  item.append(number, " ", badge, " ", time, " ", marks);
  item.classList.toggle("selected", version.id === shown);
  return item;
}

// The version list, newest first, with the head, the live and the shown version marked.
export function renderVersions(doc) {
  const list = $("version-list");
  const shown = doc.selected_version && doc.selected_version.id;
  list.replaceChildren(...(doc.versions || []).map((version) => versionItem(version, doc, shown)));
  if (list.children.length === 0) {
    const empty = document.createElement("li");
    empty.className = "muted";
    empty.textContent = "No versions yet.";
    list.append(empty);
  }
}

// The draft notice: shown when the tool has no draft head to edit (a new tool, or after its
// draft was submitted for review): the next step is to create one.
export function renderDraftNotice(doc, hasHead) {
  $("draft-notice").hidden = hasHead;
  if (hasHead) {
    return;
  }
  const version = doc.selected_version;
  $("draft-notice-text").textContent = version
    ? `Create a draft to edit. This tool has no draft: you are looking at version ${version.version_number} (${stateLabel(version.state)}), and the new draft starts from it.`
    : "Create a draft to edit. This tool has no code yet: the first draft starts from the template below.";
  $("create-draft-button").textContent = "Create draft";
}

// Schema problems: inline diagnostics in each editor plus the #schema-problems list.
export function renderProblems(problems, editors) {
  const list = $("schema-problems");
  list.replaceChildren();
  const pairs = [
    ["input_schema", editors.input],
    ["settings_schema", editors.settings],
  ];
  for (const [schema, editor] of pairs) {
    const mine = problems.filter((problem) => problem.schema === schema);
    editor.setDiagnostics(
      mine.map(({ line, column, message }) => ({ line, column, message, severity: "error" })),
    );
    for (const problem of mine) {
      const item = document.createElement("li");
      const where = problem.path ? ` ${problem.path}` : "";
      const at =
        problem.path && problem.line ? ` (line ${problem.line}, column ${problem.column})` : "";
      item.textContent = `${schema}${where}: ${problem.message}${at}`;
      item.dataset.schema = schema;
      list.append(item);
    }
  }
  list.hidden = list.children.length === 0;
}

export function createEditor(id, language, onChange) {
  return createCodeEditor($(id), { doc: "", language, readOnly: true, onChange });
}
