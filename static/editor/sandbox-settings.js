/* Sandbox panel, part 3: the sandbox settings panel (#settings-panel). Values are stored per
   user, draft head and (unsaved) settings schema; they reach sandbox runs through memory.json
   and never production. Resolve and save need the draft lock, so a read-only page shows the
   fields disabled and asks nothing of the server.
   Global: window.SkSandboxSettings. Needs SkSandboxForm. */
(function () {
  "use strict";
  if (window.SkSandboxSettings) return;

  var RESOLVE_DELAY_MS = 300; // schema edits come keystroke by keystroke

  /* create(ctx): ctx = {api(method, suffix, body) → Promise<{status, ok, json}> for the current
     head's version URL, errorText(response) → string}. Returns {update(snapshot, problems, state)}. */
  function create(ctx) {
    var panel = document.getElementById("settings-panel");
    var fieldsBox = document.getElementById("settings-fields");
    var form = document.getElementById("settings-form");
    var saveButton = document.getElementById("settings-save");
    var status = document.getElementById("settings-status");
    var model = null;
    var schema = null; // the unsaved schema the values belong to
    var key = null; // schema + head + read-only, to know when to resolve again
    var stateRev = null;
    var readOnly = true;
    var sequence = 0; // answers of an older resolve are dropped
    var timer = null;

    function say(text, level) {
      status.textContent = text || "";
      status.className = "sk-inline-status" + (level ? " sk-" + level : "");
    }

    function settled() {
      saveButton.disabled = readOnly || stateRev === null;
      if (model) model.setDisabled(readOnly);
    }

    function render(fields, values) {
      model = window.SkSandboxForm.build(fieldsBox, fields, {
        scope: "settings", idPrefix: "sandbox-setting", initial: values || {},
      });
      settled();
    }

    function resolve(note) {
      var mine = ++sequence;
      stateRev = null;
      settled();
      return ctx.api("POST", "sandbox-settings/resolve", { settings_schema: schema }).then(function (response) {
        if (mine !== sequence) return;
        if (!response.ok) {
          say(ctx.errorText(response), "error");
          return;
        }
        stateRev = response.json.state_rev;
        render(response.json.settings_schema || schema, response.json.values);
        say(note || "", note ? "warning" : null);
      });
    }

    function save(event) {
      event.preventDefault();
      if (!model || readOnly || stateRev === null) return;
      var read = model.read();
      model.showErrors(read.errors);
      if (Object.keys(read.errors).length) {
        say("Fix the marked settings first.", "error");
        return;
      }
      saveButton.disabled = true;
      var body = { settings_schema: schema, expected_state_rev: stateRev, values: read.values };
      var mine = ++sequence;
      ctx.api("PUT", "sandbox-settings", body).then(function (response) {
        if (mine !== sequence) return;
        if (response.ok) {
          stateRev = response.json.state_rev;
          render(response.json.settings_schema || schema, response.json.values);
          say("Sandbox settings saved. The next sandbox run reads them.", "ok");
          return;
        }
        var code = response.json && response.json.error ? response.json.error.code : null;
        if (code === "STATE_REV_CONFLICT") {
          resolve("Your sandbox settings were changed elsewhere (another tab?): the stored values " +
            "were reloaded — check them and save again.");
          return;
        }
        var error = response.json && response.json.error;
        if (error) model.showServerErrors(error.details, error.message);
        settled();
        say(ctx.errorText(response), "error");
      });
    }

    form.addEventListener("submit", save);

    /* update(snapshot, problems, state): show, hide or re-resolve after any schema or lock change. */
    function update(snapshot, problems, state) {
      var fields = snapshot.settings_schema;
      var broken = problems.some(function (problem) { return problem.schema === "settings_schema"; });
      var has = Array.isArray(fields) && fields.length > 0;
      panel.hidden = !has && !broken;
      readOnly = Boolean(state.readOnly);
      if (!has) {
        key = null;
        schema = null;
        model = null;
        fieldsBox.textContent = "";
        say(broken ? "Fix the settings schema to edit sandbox settings." : "", broken ? "error" : null);
        return;
      }
      var next = JSON.stringify([fields, state.headId, readOnly]);
      if (next === key) {
        settled();
        return;
      }
      key = next;
      schema = fields;
      clearTimeout(timer);
      if (readOnly) {
        sequence += 1;
        stateRev = null;
        render(fields, {});
        say("Read-only: take the draft lock to see and change your sandbox settings.", "warning");
        return;
      }
      timer = setTimeout(function () { resolve(null); }, RESOLVE_DELAY_MS);
    }

    return { update: update };
  }

  window.SkSandboxSettings = { create: create };
})();
