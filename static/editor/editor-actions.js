/* The editor page's buttons: save, submit for review, create a draft, take over the lock, the
 * metadata form, restoring a kept buffer and the instructions preview. Loaded after
 * editor-core.js; uses its page internals (window.SkEditorPage), window.SkEditor and
 * window.SkMarkdown (markdown.js). */
(function () {
  "use strict";

  const core = window.SkEditorPage;
  const { boot, page } = core;
  const urls = boot.urls;
  const $ = (id) => document.getElementById(id);

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

  /* Re-read the boot document after a write of ours. `withContent`: replace the editors (after
   * submit or create draft); after a save they keep what the author typed meanwhile. */
  async function reload(withContent) {
    const response = await SkEditor.api("GET", urls.boot);
    if (!response.ok) {
      core.notifyError(response);
      return;
    }
    core.applyDoc(response.json, withContent);
    // A save moved the lock to the new head server-side; taking it refreshes this page's token.
    if (core.hasHead()) await core.lock.acquire();
    core.lockChanged();
  }

  async function save() {
    if ($("save-button").disabled) return;
    const headId = SkEditor.state.headId;
    const sent = core.currentTexts();
    const body = { ...SkEditor.snapshot(), change_summary: $("change-summary").value, expected_parent_version_id: headId };
    await withBusy(async () => {
      const response = await SkEditor.api("POST", `${urls.tool_versions}${headId}/save`, body);
      if (!response.ok) {
        core.notifyError(response);
        return;
      }
      const result = response.json;
      SkEditorLock.forgetBuffer(boot.tool_id, headId);
      if (page.restoredFrom) SkEditorLock.forgetBuffer(boot.tool_id, page.restoredFrom);
      page.restoredFrom = null;
      page.saved = sent;
      $("change-summary").value = "";
      SkEditor.notify(result.version_id === headId ? "Nothing changed since the last save." : `Saved as version ${result.version_number}.`, "success");
      await reload(false);
      core.keepBuffer(); // anything typed while saving is still unsaved
    });
  }

  async function submitForReview(event) {
    event.preventDefault();
    const headId = SkEditor.state.headId;
    await withBusy(async () => {
      const response = await SkEditor.api("POST", `${urls.tool_versions}${headId}/submit-review`, { text: $("review-note").value });
      if (!response.ok) {
        core.notifyError(response);
        return;
      }
      $("submit-review-form").hidden = true;
      $("review-note").value = "";
      SkEditor.notify(`Version ${response.json.version_number} was submitted for review. Create a new draft to keep editing.`, "success");
      await reload(true);
    });
  }

  async function createDraft() {
    const doc = page.doc;
    const from = doc.create_draft_from_version_id;
    // Without any version the first draft is the template shown in the editors.
    const body = from ? { derived_from_version_id: from } : SkEditor.snapshot();
    await withBusy(async () => {
      const response = await SkEditor.api("POST", urls.draft, body);
      if (!response.ok) {
        core.notifyError(response);
        return;
      }
      SkEditor.notify(`Draft version ${response.json.version_number} created; you are editing it.`, "success");
      await reload(true);
    });
  }

  async function takeOver(event) {
    event.preventDefault();
    const reason = $("takeover-reason").value.trim();
    if (!reason) {
      $("takeover-reason").focus();
      SkEditor.notify("Give a reason for the takeover; it is recorded and the holder is told.", "error");
      return;
    }
    const holder = SkEditor.state.lockHolder || {};
    const ours = await core.lock.acquire({ force: true, reason });
    if (ours) {
      $("takeover-form").hidden = true;
      $("takeover-reason").value = "";
      SkEditor.notify(`You took over the editing lock from ${holder.email || "its holder"}.`, "success");
    }
  }

  async function saveMetadata(event) {
    event.preventDefault();
    const body = { title: $("title").value, summary: $("summary").value };
    const response = await SkEditor.api("PATCH", urls.metadata, body);
    if (!response.ok) {
      core.notifyError(response);
      return;
    }
    page.metadataDirty = false;
    $("tool-heading").textContent = response.json.title;
    SkEditor.notify("Title and summary saved.", "success");
  }

  /* A buffer kept in this browser (typed before a takeover, a crash or a closed tab) that differs
   * from what the server has: offer it back. */
  function offerBuffer() {
    const entry = SkEditorLock.newestBuffer(boot.tool_id);
    const saved = page.saved || {};
    const differs = entry && Object.keys(saved).some((key) => entry.content[key] !== saved[key]);
    $("buffer-notice").hidden = !differs;
    if (!differs) return;
    const when = new Date(entry.saved_at).toLocaleString([], { dateStyle: "short", timeStyle: "short" });
    const base = entry.version_number ? `, typed on version ${entry.version_number}` : "";
    $("buffer-notice-text").textContent = `Unsaved changes from ${when}${base} are kept in this browser.`;
    $("restore-buffer-button").onclick = () => {
      page.restoredFrom = entry.head_id;
      core.setTexts(entry.content);
      core.edited(); // kept again, now under the current head, until saved or discarded
      $("buffer-notice").hidden = true;
      const hint = SkEditor.state.holdsLock ? "Save to keep them." : "Saving needs the editing lock.";
      SkEditor.notify(`Your unsaved changes were restored into the editors. ${hint}`, "info");
    };
    $("discard-buffer-button").onclick = () => {
      SkEditorLock.forgetBuffer(boot.tool_id, entry.head_id);
      $("buffer-notice").hidden = true;
      offerBuffer();
    };
  }

  function renderPreview() {
    window.SkMarkdown.render($("usage-preview-body"), $("usage-instructions").value);
  }

  function wire() {
    $("save-button").addEventListener("click", save);
    $("submit-review-button").addEventListener("click", () => {
      $("submit-review-form").hidden = !$("submit-review-form").hidden;
      if (!$("submit-review-form").hidden) $("review-note").focus();
    });
    $("submit-review-form").addEventListener("submit", submitForReview);
    $("submit-review-cancel").addEventListener("click", () => { $("submit-review-form").hidden = true; });
    $("create-draft-button").addEventListener("click", createDraft);
    $("takeover-button").addEventListener("click", () => {
      $("takeover-form").hidden = false;
      $("takeover-reason").focus();
    });
    $("takeover-form").addEventListener("submit", takeOver);
    $("takeover-cancel").addEventListener("click", () => { $("takeover-form").hidden = true; });
    const metadata = $("metadata-form");
    if (boot.user.is_admin) {
      metadata.addEventListener("submit", saveMetadata);
      metadata.addEventListener("input", () => { page.metadataDirty = true; });
    }
    for (const id of ["entrypoint", "usage-instructions"]) $(id).addEventListener("input", core.edited);
    $("usage-instructions").addEventListener("input", () => { if ($("usage-preview").open) renderPreview(); });
    $("usage-preview").addEventListener("toggle", renderPreview);
    document.addEventListener("keydown", (event) => {
      if ((event.ctrlKey || event.metaKey) && event.key === "s") {
        event.preventDefault();
        save();
      }
    });
    // Keep the newest keystrokes when the page goes away (the buffer is otherwise debounced).
    window.addEventListener("pagehide", core.keepBuffer);
  }

  wire();
  SkEditor.ready.then(offerBuffer);
})();
