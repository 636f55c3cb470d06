/* Sandbox panel, part 5 (the controller): run the UNSAVED editor content, poll the run, render
   it, continue with next actions on the same snapshot, start over. Uses only window.SkEditor
   (editor-core.js) and the other sandbox-*.js parts; starts once the DOM and SkEditor are ready.
   Global: window.SkSandbox (for tests and debugging: the current run details). */
(function () {
  "use strict";
  if (window.SkSandbox) return;
  var sandbox = (window.SkSandbox = { details: null });

  // Short first polls: a trivial run ends in a few hundred ms, and the author is waiting.
  var FIRST_POLLS_MS = [150, 300];
  var POLL_RETRIES = 3; // network hiccups tolerated while polling
  var RETRYABLE = [0, 502, 503, 504]; // status 0: SkEditor.api's NETWORK_ERROR
  var SNAPSHOT_GONE = ["SNAPSHOT_EXPIRED", "SNAPSHOT_NOT_FOUND", "SNAPSHOT_MISMATCH"];
  var TICK_MS = 250;

  var boot = null;
  var dom = {};
  var inputForm = null;
  var inputKey = null; // the input schema the form was built from
  var busy = false;
  var run = { snapshotId: null, stateRev: null, actions: [] };
  var filesSnapshot = { id: null, files: [] }; // session files a new run may reuse
  var settings = null;

  function readBoot() {
    var node = document.getElementById("editor-boot");
    return node ? JSON.parse(node.textContent) : {};
  }

  function versionUrl(suffix) {
    return boot.urls.tool_versions + SkEditor.state.headId + "/" + suffix;
  }

  function errorOf(response) {
    return (response.json && response.json.error) || {};
  }

  /* The human text for a failed response: the core's message for the code, plus what the
     server said when it names the problem more precisely. */
  function errorText(response) {
    var error = errorOf(response);
    var fallback = error.message || "The request failed (HTTP " + response.status + ").";
    var text = SkEditor.message(error.code || "HTTP_" + response.status, fallback);
    if (error.message && text.indexOf(error.message) < 0 && error.code === "VALIDATION_ERROR") {
      text += " " + error.message + detailText(error.details);
    }
    return text;
  }

  function detailText(details) {
    if (!details || typeof details !== "object") return "";
    if (Array.isArray(details.unknown_keys)) return " (" + details.unknown_keys.join(", ") + ")";
    if (typeof details.files_count === "number") {
      return " (" + details.files_count + " given, " + details.min + "–" + details.max + " allowed)";
    }
    if (details.fields && typeof details.fields === "object") {
      return " " + Object.keys(details.fields).map(function (name) {
        return name + ": " + [].concat(details.fields[name]).join(" ");
      }).join("; ");
    }
    return "";
  }

  function say(text, level) {
    dom.message.textContent = text || "";
    dom.message.className = "sk-inline-status" + (level ? " sk-" + level : "");
    dom.message.hidden = !text;
  }

  // --- Blocking and input form ---------------------------------------------------------------

  function blockReason() {
    if (SkEditor.state.readOnly) return "Read-only: you do not hold the draft lock.";
    if (SkEditor.schemaProblems().length) return "Fix the schema problems before running.";
    if (busy) return "A run is in progress.";
    return "";
  }

  function refreshControls() {
    var reason = blockReason();
    dom.runButton.disabled = Boolean(reason);
    dom.blocked.textContent = busy ? "" : reason;
    dom.startOver.disabled = busy;
    window.SkSandboxActions.setDisabled(run.actions, Boolean(reason) || !run.snapshotId);
  }

  function rebuildInputs(snapshot, problems) {
    var broken = problems.some(function (problem) { return problem.schema === "input_schema"; });
    if (broken) return; // keep the last good form until the schema parses again
    var fields = Array.isArray(snapshot.input_schema) ? snapshot.input_schema : [];
    var key = JSON.stringify(fields);
    if (key === inputKey) return;
    var raw = inputForm ? inputForm.rawValues() : {};
    var oldFiles = inputForm && inputForm.fileEntry() ? inputForm.fileEntry().control.files : null;
    inputForm = window.SkSandboxForm.build(dom.inputs, fields, {
      scope: "input", idPrefix: "sandbox-input", initial: raw, fileId: "sandbox-files",
    });
    inputKey = key;
    var fileEntry = inputForm.fileEntry();
    if (fileEntry && oldFiles && oldFiles.length) fileEntry.control.files = oldFiles;
    if (!fields.length) {
      dom.inputs.appendChild(window.SkSandboxForm.el("p", { class: "hint" }, "This tool asks for no inputs."));
    }
    renderReuseOption();
  }

  function renderReuseOption() {
    var entry = inputForm && inputForm.fileEntry();
    dom.reuse.hidden = !(entry && filesSnapshot.files.length);
    if (dom.reuse.hidden) return;
    var names = filesSnapshot.files.map(function (file) { return file.name; }).join(", ");
    dom.reuseLabel.textContent = "When no file is chosen, reuse the " + filesSnapshot.files.length +
      " file(s) of the previous run: " + names;
  }

  function reusing() {
    return !dom.reuse.hidden && dom.reuseBox.checked && inputForm.files().length === 0;
  }

  function onSchemasChanged() {
    var snapshot = SkEditor.snapshot();
    var problems = SkEditor.schemaProblems();
    rebuildInputs(snapshot, problems);
    settings.update(snapshot, problems, SkEditor.state);
    refreshControls();
  }

  // --- Polling -------------------------------------------------------------------------------

  function showStatus(status, startedAt) {
    dom.status.textContent = window.SkSandboxResults.statusText(status, Date.now() - startedAt);
    dom.status.dataset.status = status;
  }

  /* poll(runId, startedAt) → Promise<details> of the finished run (rejects with a message). */
  function poll(runId, startedAt) {
    var status = "queued";
    var failures = 0;
    var count = 0;
    var ticker = setInterval(function () { showStatus(status, startedAt); }, TICK_MS);
    showStatus(status, startedAt);
    return new Promise(function (resolve, reject) {
      function next() {
        var delay = count < FIRST_POLLS_MS.length ? Math.min(FIRST_POLLS_MS[count], boot.poll_ms) : boot.poll_ms;
        count += 1;
        setTimeout(check, delay);
      }
      function finish(error, details) {
        clearInterval(ticker);
        if (error) reject(error);
        else resolve(details);
      }
      function check() {
        SkEditor.api("GET", boot.urls.tool_runs + runId).then(function (response) {
          // A dropped connection or a restarting server is no reason to give up on the run.
          if (RETRYABLE.indexOf(response.status) >= 0 && failures < POLL_RETRIES) {
            failures += 1;
            next();
            return;
          }
          if (!response.ok) {
            finish(new Error(errorText(response) + " The run may still finish: see the debug panel later."));
            return;
          }
          failures = 0;
          status = response.json.status;
          showStatus(status, startedAt);
          if (window.SkSandboxResults.isTerminal(status)) finish(null, response.json);
          else next();
        });
      }
      next();
    });
  }

  // --- Runs and actions ----------------------------------------------------------------------

  function setBusy(value) {
    busy = value;
    dom.panel.setAttribute("aria-busy", value ? "true" : "false");
    refreshControls();
  }

  function runForm() {
    var read = inputForm.read(reusing() ? filesSnapshot.files.length : 0);
    inputForm.showErrors(read.errors);
    if (Object.keys(read.errors).length) return null;
    var form = new FormData();
    form.append("snapshot", JSON.stringify(SkEditor.snapshot()));
    form.append("inputs", JSON.stringify(read.values));
    inputForm.files().forEach(function (file) { form.append("files", file, file.name); });
    if (reusing()) {
      form.append("session_files_mode", "reuse");
      form.append("session_context", "sandbox:" + filesSnapshot.id);
    } else {
      form.append("session_files_mode", "none");
    }
    return form;
  }

  function startRun(event) {
    event.preventDefault();
    if (blockReason()) return;
    var form = runForm();
    if (!form) {
      say("Fix the marked inputs first.", "error");
      return;
    }
    var startedAt = Date.now();
    say("");
    setBusy(true);
    showStatus("queued", startedAt);
    SkEditor.api("POST", versionUrl("run-sandbox"), null, { form: form }).then(function (response) {
      if (!response.ok) {
        var error = errorOf(response);
        if (error.code === "VALIDATION_ERROR") inputForm.showServerErrors(error.details, error.message);
        throw new Error(errorText(response));
      }
      run = { snapshotId: response.json.snapshot_id, stateRev: null, actions: run.actions };
      return follow(response.json.run_id, startedAt);
    }).catch(failed).then(function () { setBusy(false); });
  }

  function submitAction(entry, values) {
    if (blockReason() || !run.snapshotId) return;
    if (run.stateRev === null) {
      // The session's revision could not be read after the run: read it now, then send.
      loadSession().then(function () {
        if (run.stateRev !== null) submitAction(entry, values);
      });
      return;
    }
    var startedAt = Date.now();
    var body = {
      snapshot_id: run.snapshotId,
      action_id: entry.action.action_id,
      input: values,
      expected_state_rev: run.stateRev,
    };
    say("");
    setBusy(true);
    showStatus("queued", startedAt);
    SkEditor.api("POST", versionUrl("start-action"), body).then(function (response) {
      if (!response.ok) return actionRefused(entry, response);
      run.stateRev = response.json.state_rev;
      return follow(response.json.run_id, startedAt);
    }).catch(failed).then(function () { setBusy(false); });
  }

  function actionRefused(entry, response) {
    var error = errorOf(response);
    var text = errorText(response);
    dom.status.textContent = "";
    if (error.code === "STATE_REV_CONFLICT") {
      return loadSession().then(function () {
        say(text + " (The session is now at revision " + run.stateRev + ".)", "warning");
      });
    }
    if (SNAPSHOT_GONE.indexOf(error.code) >= 0) {
      snapshotGone(text);
      return null;
    }
    if (error.code === "VALIDATION_ERROR") entry.model.showServerErrors(error.details, error.message);
    say(text, "error");
    return null;
  }

  function snapshotGone(text) {
    run.snapshotId = null; // its actions can no longer run: only a new sandbox run helps
    dom.runForm.hidden = false;
    say(/sandbox again/i.test(text) ? text : text + " Run the sandbox again to continue.", "error");
    refreshControls();
  }

  /* After a run or action is accepted: poll it, render it, then read the session's revision. */
  function follow(runId, startedAt) {
    return poll(runId, startedAt).then(function (details) {
      show(details);
      var tasks = [];
      if (run.actions.length) tasks.push(loadSession());
      if (inputForm && inputForm.fileEntry() && !details.action_id) tasks.push(loadSessionFiles(details));
      return Promise.all(tasks);
    });
  }

  function show(details) {
    sandbox.details = details;
    window.SkSandboxResults.renderOutputs(dom.results, details);
    window.SkSandboxResults.renderArtifacts(dom.artifacts, details);
    window.SkSandboxResults.renderDebug(dom.debugBody, details);
    dom.copyJson.disabled = false;
    var actions = (details.ui_payload && details.ui_payload.next_actions) || [];
    run.actions = window.SkSandboxActions.render(dom.actions, actions, submitAction);
    // While a multi-step session offers actions, the input form waits behind "Start over".
    dom.runForm.hidden = run.actions.length > 0;
    dom.startOver.hidden = false;
    dom.results.hidden = false;
    refreshControls(); // the new action buttons wait while this run is still being followed
  }

  function loadSession() {
    var url = versionUrl("session?snapshot_id=" + encodeURIComponent(run.snapshotId));
    return SkEditor.api("GET", url).then(function (response) {
      var code = errorOf(response).code;
      if (response.ok) run.stateRev = response.json.state_rev;
      else if (SNAPSHOT_GONE.indexOf(code) >= 0) snapshotGone(errorText(response));
      else if (code !== "SESSION_NOT_FOUND") say(errorText(response), "error");
      refreshControls();
    });
  }

  function loadSessionFiles(details) {
    var snapshotId = details.snapshot_id;
    var url = versionUrl("session-files?snapshot_id=" + encodeURIComponent(snapshotId));
    return SkEditor.api("GET", url).then(function (response) {
      if (!response.ok) return;
      filesSnapshot = { id: snapshotId, files: response.json.files || [] };
      renderReuseOption();
    });
  }

  function failed(error) {
    dom.status.textContent = "";
    say(error && error.message ? error.message : String(error), "error");
  }

  function startOver() {
    run = { snapshotId: null, stateRev: null, actions: [] };
    sandbox.details = null;
    dom.results.textContent = "";
    dom.results.hidden = true;
    dom.artifacts.textContent = "";
    dom.artifacts.hidden = true;
    window.SkSandboxActions.render(dom.actions, [], submitAction);
    window.SkSandboxResults.renderDebug(dom.debugBody, null);
    dom.copyJson.disabled = true;
    dom.status.textContent = "";
    dom.runForm.hidden = false;
    dom.startOver.hidden = true;
    say("");
    refreshControls();
  }

  function copyDebugJson() {
    if (!sandbox.details) return;
    window.SkSandboxResults.copyJson(sandbox.details, dom.copyFallback).then(function (copied) {
      if (copied) say("Run details copied to the clipboard as JSON.", "ok");
    });
  }

  // --- Start ---------------------------------------------------------------------------------

  var IDS = {
    panel: "sandbox-panel-body", runForm: "sandbox-run-form", inputs: "sandbox-inputs",
    runButton: "run-button", blocked: "run-blocked-reason", status: "run-status",
    results: "run-results", artifacts: "run-artifacts", actions: "next-actions",
    startOver: "start-over-button", message: "sandbox-message", debugBody: "debug-body",
    copyJson: "copy-debug-json", copyFallback: "debug-copy-fallback", reuse: "sandbox-reuse",
    reuseBox: "sandbox-reuse-files", reuseLabel: "sandbox-reuse-label",
  };

  function findDom() {
    Object.keys(IDS).forEach(function (name) { dom[name] = document.getElementById(IDS[name]); });
  }

  function start() {
    boot = readBoot();
    boot.poll_ms = boot.poll_ms || 1500;
    findDom();
    if (!dom.panel || !window.SkEditor) return;
    settings = window.SkSandboxSettings.create({
      api: function (method, suffix, body) { return SkEditor.api(method, versionUrl(suffix), body); },
      errorText: errorText,
    });
    dom.runForm.addEventListener("submit", startRun);
    dom.startOver.addEventListener("click", startOver);
    dom.copyJson.addEventListener("click", copyDebugJson);
    document.addEventListener("sk:schemas-changed", onSchemasChanged);
    document.addEventListener("sk:lock-changed", onSchemasChanged);
    document.addEventListener("sk:head-changed", onSchemasChanged);
    window.SkSandboxResults.renderDebug(dom.debugBody, null);
    refreshControls();
    SkEditor.ready.then(onSchemasChanged);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
