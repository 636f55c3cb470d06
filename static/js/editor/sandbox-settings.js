// The sandbox settings panel (#settings-panel) on the shared settings form. Values are stored per
// user, draft head and (unsaved) settings schema; they reach sandbox runs through memory.json and
// never production. Resolve and save need the draft lock, so a read-only page shows the fields
// disabled and asks nothing of the server.
import { byId as $ } from "../shared/dom.js";
import { SettingsForm } from "../shared/settings-form.js";

const RESOLVE_DELAY_MS = 300; // schema edits come keystroke by keystroke

// createSandboxSettings({post(suffix, body), put(suffix, body)}) -> {update(snapshot, problems,
// lock)}; the two calls go to the current head's version URL.
export function createSandboxSettings({ post, put }) {
  let schema = null; // the unsaved schema the values belong to
  let key = null; // schema + head + read-only, to know when to resolve again
  let timer = null;
  const panel = $("settings-panel");
  const form = new SettingsForm({
    elements: {
      form: $("settings-form"),
      fields: $("settings-fields"),
      save: $("settings-save"),
      status: $("settings-status"),
    },
    idPrefix: "sandbox-setting",
    load: () => post("sandbox-settings/resolve", { settings_schema: schema }),
    save: (rev, values) =>
      put("sandbox-settings", { settings_schema: schema, expected_state_rev: rev, values }),
    texts: {
      saved: "Sandbox settings saved. The next sandbox run reads them.",
      conflict:
        "Your sandbox settings were changed elsewhere (another tab?): the stored values were reloaded — check them and save again.",
    },
  });

  // Show, hide or re-resolve after any schema or lock change.
  function update(snapshot, problems, lock) {
    const fields = snapshot.settings_schema;
    const broken = problems.some((problem) => problem.schema === "settings_schema");
    const has = Array.isArray(fields) && fields.length > 0;
    panel.hidden = !has && !broken;
    form.setReadOnly(Boolean(lock.readOnly));
    if (!has) {
      key = null;
      schema = null;
      form.reset([], broken ? "Fix the settings schema to edit sandbox settings." : null, "error");
      return;
    }
    const next = JSON.stringify([fields, lock.headId, form.readOnly]);
    if (next === key) {
      return;
    }
    key = next;
    schema = fields;
    clearTimeout(timer);
    if (form.readOnly) {
      const note = "Read-only: take the draft lock to see and change your sandbox settings.";
      form.reset(fields, note, "warning");
      return;
    }
    timer = setTimeout(() => form.reload(), RESOLVE_DELAY_MS);
  }

  return { update };
}
