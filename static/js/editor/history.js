// The editor's version history: every version in the version list can be opened read-only in
// the editor panes ("Back to the draft" returns, the draft's unsaved text untouched), compared
// with any other (pick two; the shared diff view) and used as the base of a new draft (the
// editor's own create-draft flow: it needs the lock when the tool has a head). Also hides the
// reviewer's "changes requested" banner once the draft is submitted.
//
// The version list is drawn by view.js whenever the boot document changes; a MutationObserver
// adds the controls to each new drawing, so the list's rendering stays in one place.
import { byId as $, el } from "../shared/dom.js";
import { createDraft } from "./buttons.js";
import * as core from "./core.js";

const contents = new Map(); // version id -> its content (versions never change)
const picked = new Set(); // version ids ticked for comparison

function versions() {
  return (core.page.doc && core.page.doc.versions) || [];
}

function versionById(id) {
  return versions().find((version) => version.id === id) || null;
}

function label(version) {
  return `version ${version.version_number} (${String(version.state).replace("_", " ")})`;
}

async function contentOf(id) {
  if (!contents.has(id)) {
    const doc = await core.api.get(`${core.urls.tool_versions}${id}`);
    contents.set(id, {
      entrypoint: doc.entrypoint,
      source_code: doc.source_code,
      input_schema: doc.input_schema,
      settings_schema: doc.settings_schema,
      usage_instructions: doc.usage_instructions,
    });
  }
  return contents.get(id);
}

// --- Open read-only ---------------------------------------------------------------------------

async function open(id) {
  const version = versionById(id);
  let content;
  try {
    content = await contentOf(id);
  } catch (error) {
    core.notifyError(error);
    return;
  }
  if (!core.page.viewing) {
    core.page.viewing = { draft: core.currentTexts() };
  }
  core.page.viewing.id = id;
  core.setTexts(core.textsOf(content));
  $("history-viewing-text").textContent =
    `You are looking at ${label(version)}, read-only. Nothing you do here changes the draft.`;
  $("history-back-button").textContent = core.hasHead() ? "Back to the draft" : "Back";
  $("history-viewing").hidden = false;
  $("sandbox-panel").hidden = true;
  $("editor-page").dataset.viewing = id;
  core.render();
  markViewed();
  $("history-back-button").focus();
}

function back() {
  const viewing = core.page.viewing;
  if (!viewing) {
    return;
  }
  core.setTexts(viewing.draft);
  leave();
  core.edited(); // the draft's unsaved text is kept again, as before
}

// Leave the read-only view without touching the editors (the caller put the right text there).
function leave() {
  core.page.viewing = null;
  $("history-viewing").hidden = true;
  $("sandbox-panel").hidden = false;
  delete $("editor-page").dataset.viewing;
  core.render();
  markViewed();
}

// --- Compare ----------------------------------------------------------------------------------

function refreshCompareButton() {
  const button = $("history-compare-button");
  button.disabled = picked.size !== 2;
  button.textContent =
    picked.size === 2 ? "Compare the two ticked versions" : "Tick two versions to compare";
}

async function compare() {
  const [older, newer] = [...picked]
    .map(versionById)
    .filter(Boolean)
    .sort((a, b) => a.version_number - b.version_number);
  if (!older || !newer) {
    return;
  }
  let texts;
  let diffView;
  try {
    // Loaded on the first comparison: most editing sessions never compare, and the editor page
    // is the heaviest one (tests/browser/test_editor_core.py holds its weight).
    [texts, diffView] = await Promise.all([
      Promise.all([contentOf(older.id), contentOf(newer.id)]),
      import("../shared/diff-view.js"),
    ]);
  } catch (error) {
    core.notifyError(error);
    return;
  }
  $("history-compare-title").textContent =
    `Version ${older.version_number} compared with version ${newer.version_number}`;
  diffView.renderDiff($("history-diff"), diffView.contentParts(texts[0], texts[1]), {
    labels: { before: `v${older.version_number}`, after: `v${newer.version_number}` },
  });
  $("history-compare").hidden = false;
  $("history-compare").scrollIntoView({ block: "start" });
  $("history-compare-title").focus();
}

// --- New draft from a version -----------------------------------------------------------------

async function newDraftFrom(id) {
  const version = versionById(id);
  if (core.isDirty()) {
    core.notify(
      "Save your changes first: a new draft from another version replaces the current draft.",
      "error",
    );
    return;
  }
  const head = versionById(core.page.doc.draft_head_id);
  const question = head
    ? `Start a new draft from ${label(version)}? It replaces draft version ${head.version_number}, which stays in the list.`
    : null;
  if (question && !window.confirm(question)) {
    return;
  }
  if (core.page.viewing) {
    leave();
  }
  await createDraft(id);
}

// --- The list's controls ----------------------------------------------------------------------

function controls(item) {
  const id = item.dataset.versionId;
  const version = versionById(id);
  if (!version || item.querySelector(".version-actions")) {
    return;
  }
  const n = version.version_number;
  const box = el("div", { class: "version-actions" });
  const openButton = el(
    "button",
    { type: "button", class: "small secondary", "aria-label": `Open version ${n} read-only` },
    "Open",
  );
  openButton.addEventListener("click", () => open(id));
  const tick = el("input", {
    type: "checkbox",
    id: `history-pick-${id}`,
    checked: picked.has(id),
  });
  tick.addEventListener("change", () => {
    if (tick.checked) {
      picked.add(id);
    } else {
      picked.delete(id);
    }
    refreshCompareButton();
  });
  const tickLabel = el("label", { for: tick.id, class: "version-pick" });
  tickLabel.append(tick, " ", el("span", {}, "Compare"));
  tickLabel.append(el("span", { class: "visually-hidden" }, ` version ${n}`));
  const draftButton = el(
    "button",
    { type: "button", class: "small secondary", "aria-label": `New draft from version ${n}` },
    "New draft",
  );
  draftButton.addEventListener("click", () => newDraftFrom(id));
  box.append(openButton, tickLabel, draftButton);
  item.append(box);
}

function markViewed() {
  const viewing = core.page.viewing && core.page.viewing.id;
  for (const item of $("version-list").querySelectorAll("li[data-version-id]")) {
    const on = item.dataset.versionId === viewing;
    item.classList.toggle("viewing", on);
    if (on) {
      item.setAttribute("aria-current", "true");
    } else {
      item.removeAttribute("aria-current");
    }
  }
}

function decorate() {
  const ids = new Set(versions().map((version) => version.id));
  for (const id of [...picked]) {
    if (!ids.has(id)) {
      picked.delete(id);
    }
  }
  for (const item of $("version-list").querySelectorAll("li[data-version-id]")) {
    controls(item);
  }
  markViewed();
  refreshCompareButton();
}

export function startHistory(ready) {
  new MutationObserver(decorate).observe($("version-list"), { childList: true });
  $("history-back-button").addEventListener("click", back);
  $("history-compare-button").addEventListener("click", compare);
  $("history-compare-close").addEventListener("click", () => {
    $("history-compare").hidden = true;
  });
  core.events.addEventListener("head-changed", () => {
    // Another head (a save elsewhere, a submit, a new draft) was put into the editors.
    if (core.page.viewing) {
      leave();
    }
    if (core.page.booted && !core.hasHead()) {
      $("changes-requested")?.remove(); // submitted: the reviewer's request is answered
    }
  });
  ready.then(decorate);
}
