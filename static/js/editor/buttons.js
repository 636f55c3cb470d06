// The editor page's buttons: save, submit for review, create a draft, take over the lock, the
// metadata form, restoring a kept buffer and the instructions preview.
import { byId as $, el } from "../shared/dom.js";
import { renderMarkdown } from "../shared/markdown.js";
import * as core from "./core.js";
import { forgetBuffer, newestBuffer } from "./lock.js";

const { boot, page, urls } = core;

async function withBusy(work) {
  page.busy = true;
  core.render();
  try {
    return await work();
  } finally {
    page.busy = false;
    core.render();
  }
}

// Re-read the boot document after a write of ours. `withContent`: replace the editors (after
// submit or create draft); after a save they keep what the author typed meanwhile.
async function reload(withContent) {
  let doc;
  try {
    doc = await core.api.get(urls.boot);
  } catch (error) {
    core.notifyError(error);
    return;
  }
  core.applyDoc(doc, withContent);
  // A save moved the lock to the new head server-side; taking it refreshes this page's token.
  if (core.hasHead()) {
    await core.acquireLock();
  }
  core.lockChanged();
}

// Run `write()`; a refusal is told and ends the action (resolves to null).
async function attempt(write) {
  try {
    return await write();
  } catch (error) {
    core.notifyError(error);
    return null;
  }
}

async function save() {
  if ($("save-button").disabled) {
    return;
  }
  const headId = core.lockState().headId;
  const sent = core.currentTexts();
  const body = {
    ...core.snapshot(),
    change_summary: $("change-summary").value,
    expected_parent_version_id: headId,
  };
  await withBusy(async () => {
    const result = await attempt(() => core.api.post(`${urls.tool_versions}${headId}/save`, body));
    if (!result) {
      return;
    }
    forgetBuffer(boot.tool_id, headId);
    if (page.restoredFrom) {
      forgetBuffer(boot.tool_id, page.restoredFrom);
    }
    page.restoredFrom = null;
    page.saved = sent;
    $("change-summary").value = "";
    core.notify(
      result.version_id === headId
        ? "Nothing changed since the last save."
        : `Saved as version ${result.version_number}.`,
      "success",
    );
    await reload(false);
    core.keepBuffer(); // anything typed while saving is still unsaved
  });
}

// Each missing requirement of a refused submit, with a link to the settings section that sets
// it (details.requirements: [{field, message}], field = the anchor on the settings page).
function showRequirements(error) {
  const requirements = error.details?.requirements || [];
  const list = $("review-requirement-list");
  list.replaceChildren();
  for (const { field, message } of requirements) {
    const link = el("a", { href: `${urls.settings}#${field}`, "data-field": field }, "Set it");
    const item = el("li", { "data-requirement": field }, `${message} `);
    item.append(link);
    list.append(item);
  }
  $("review-requirements").hidden = requirements.length === 0;
}

async function submitForReview(event) {
  event.preventDefault();
  const headId = core.lockState().headId;
  const url = `${urls.tool_versions}${headId}/submit-review`;
  await withBusy(async () => {
    let version;
    try {
      version = await core.api.post(url, { text: $("review-note").value });
    } catch (error) {
      showRequirements(error);
      core.notifyError(error);
      return;
    }
    showRequirements({});
    $("submit-review-form").hidden = true;
    $("review-note").value = "";
    core.notify(
      `Version ${version.version_number} was submitted for review. Create a new draft to keep editing.`,
      "success",
    );
    await reload(true);
  });
}

// A new draft (the new head) from the version shown, or from `fromVersionId` (the history's
// "New draft from this version").
export async function createDraft(fromVersionId = null) {
  const from = fromVersionId || page.doc.create_draft_from_version_id;
  // Without any version the first draft is the template shown in the editors.
  const body = from ? { derived_from_version_id: from } : core.snapshot();
  await withBusy(async () => {
    const draft = await attempt(() => core.api.post(urls.draft, body));
    if (!draft) {
      return;
    }
    core.notify(`Draft version ${draft.version_number} created; you are editing it.`, "success");
    await reload(true);
  });
}

async function takeOver(event) {
  event.preventDefault();
  const reason = $("takeover-reason").value.trim();
  if (!reason) {
    $("takeover-reason").focus();
    core.notify("Give a reason for the takeover; it is recorded and the holder is told.", "error");
    return;
  }
  const holder = core.lockState().lockHolder || {};
  if (await core.acquireLock({ force: true, reason })) {
    $("takeover-form").hidden = true;
    $("takeover-reason").value = "";
    core.notify(`You took over the editing lock from ${holder.email || "its holder"}.`, "success");
  }
}

// This user edits in another window: take the lock (a new token) so this one edits instead.
async function takeBack() {
  if (await core.acquireLock({ takeBack: true })) {
    core.notify("You edit in this window now; the other window turns read-only.", "success");
  }
}

async function saveMetadata(event) {
  event.preventDefault();
  const body = { title: $("title").value, summary: $("summary").value };
  const tool = await attempt(() => core.api.patch(urls.metadata, body));
  if (!tool) {
    return;
  }
  page.metadataDirty = false;
  $("tool-heading").textContent = tool.title;
  core.notify("Title and summary saved.", "success");
}

// A buffer kept in this browser (typed before a takeover, a crash or a closed tab) that differs
// from what the server has: offer it back.
function offerBuffer() {
  const entry = newestBuffer(boot.tool_id);
  const saved = page.saved || {};
  const differs = entry && Object.keys(saved).some((key) => entry.content[key] !== saved[key]);
  $("buffer-notice").hidden = !differs;
  if (!differs) {
    return;
  }
  const when = new Date(entry.saved_at).toLocaleString([], {
    dateStyle: "short",
    timeStyle: "short",
  });
  const base = entry.version_number ? `, typed on version ${entry.version_number}` : "";
  $("buffer-notice-text").textContent =
    `Unsaved changes from ${when}${base} are kept in this browser.`;
  $("restore-buffer-button").onclick = () => {
    page.restoredFrom = entry.head_id;
    core.setTexts(entry.content);
    core.edited(); // kept again, now under the current head, until saved or discarded
    $("buffer-notice").hidden = true;
    const hint = core.lockState().holdsLock
      ? "Save to keep them."
      : "Saving needs the editing lock.";
    core.notify(`Your unsaved changes were restored into the editors. ${hint}`, "info");
  };
  $("discard-buffer-button").onclick = () => {
    forgetBuffer(boot.tool_id, entry.head_id);
    $("buffer-notice").hidden = true;
    offerBuffer();
  };
}

function renderPreview() {
  renderMarkdown($("usage-preview-body"), $("usage-instructions").value);
}

function toggle(formId, focusId) {
  const form = $(formId);
  form.hidden = !form.hidden;
  if (!form.hidden) {
    $(focusId).focus();
  }
}

// Wire the buttons; `ready` is the editor's start (a kept buffer is offered once it is loaded).
export function wireButtons(ready) {
  $("save-button").addEventListener("click", save);
  $("submit-review-button").addEventListener("click", () =>
    toggle("submit-review-form", "review-note"),
  );
  $("submit-review-form").addEventListener("submit", submitForReview);
  $("submit-review-cancel").addEventListener("click", () => {
    $("submit-review-form").hidden = true;
  });
  $("create-draft-button").addEventListener("click", () => createDraft());
  $("takeover-button").addEventListener("click", () => toggle("takeover-form", "takeover-reason"));
  $("takeover-form").addEventListener("submit", takeOver);
  $("take-back-button").addEventListener("click", takeBack);
  $("takeover-cancel").addEventListener("click", () => {
    $("takeover-form").hidden = true;
  });
  if (boot.user.is_admin) {
    $("metadata-form").addEventListener("submit", saveMetadata);
    $("metadata-form").addEventListener("input", () => {
      page.metadataDirty = true;
    });
  }
  for (const id of ["entrypoint", "usage-instructions"]) {
    $(id).addEventListener("input", core.edited);
  }
  $("usage-instructions").addEventListener("input", () => {
    if ($("usage-preview").open) {
      renderPreview();
    }
  });
  $("usage-preview").addEventListener("toggle", renderPreview);
  document.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key === "s") {
      event.preventDefault();
      save();
    }
  });
  // Keep the newest keystrokes when the page goes away (the buffer is otherwise debounced).
  window.addEventListener("pagehide", core.keepBuffer);
  ready.then(offerBuffer);
}
