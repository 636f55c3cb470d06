/* Sandbox panel, part 2: rendering a run's details — ui_payload outputs, the error summary,
   artifacts and the debug panel. Tool output is untrusted: text goes in through textContent,
   markdown through SkMarkdown (html off, no external images), HTML only inside an iframe whose
   sandbox attribute is empty (no scripts, no same origin, no forms, no navigation) and whose
   document carries its own Content-Security-Policy (no network at all).
   Global: window.SkSandboxResults. Needs SkSandboxForm (for el) and SkMarkdown at render time. */
(function () {
  "use strict";
  if (window.SkSandboxResults) return;

  var STATUS_WORDS = {
    queued: "Queued…",
    running: "Running…",
    succeeded: "Succeeded",
    failed: "Failed",
    timed_out: "Timed out",
    cancelled: "Cancelled",
  };
  var TERMINAL = ["succeeded", "failed", "timed_out", "cancelled"];

  function el(tag, attrs, text) {
    return window.SkSandboxForm.el(tag, attrs, text);
  }

  function isTerminal(status) {
    return TERMINAL.indexOf(status) >= 0;
  }

  function cellText(value) {
    if (value === null || value === undefined) return "";
    return String(value);
  }

  function titled(kind, title, body) {
    var figure = el("figure", { class: "sk-output sk-out-" + kind, "data-kind": kind });
    if (title) figure.appendChild(el("figcaption", {}, title));
    figure.appendChild(body);
    return figure;
  }

  function notice(item) {
    var level = ["info", "warning", "error"].indexOf(item.level) >= 0 ? item.level : "info";
    return el("div", {
      class: "sk-output sk-notice sk-notice-" + level,
      "data-kind": "notice",
      "data-level": level,
    }, item.message);
  }

  function markdown(item) {
    var box = el("div", { class: "sk-output sk-markdown", "data-kind": "markdown" });
    window.SkMarkdown.render(box, item.markdown);
    return box;
  }

  function table(item) {
    var columns = item.columns || [];
    var node = el("table", { class: "list" });
    var head = node.createTHead().insertRow();
    columns.forEach(function (column) {
      head.appendChild(el("th", { scope: "col" }, column.label));
    });
    var body = node.createTBody();
    (item.rows || []).forEach(function (row) {
      var tr = body.insertRow();
      columns.forEach(function (column) {
        tr.insertCell().textContent = cellText(row[column.key]);
      });
    });
    var scroller = el("div", { class: "sk-scroll" });
    scroller.appendChild(node);
    return titled("table", item.title, scroller);
  }

  function json(item) {
    return titled("json", item.title, el("pre", { class: "sk-json" }, JSON.stringify(item.value, null, 2)));
  }

  // A srcdoc document inherits the page's policy, which allows this site's images and styles;
  // the frame's own policy comes first in it and takes the network away entirely: the tool's
  // inline styles apply, images only from data: URLs, nothing else loads (the DNS prefetch of
  // link hosts is off too). The tool's HTML goes into the body, where its <style> elements
  // still apply (its own <html>, <head> or <body> tags only add attributes).
  var FRAME_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; " +
    "font-src data:; base-uri 'none'; form-action 'none'";

  function frameDocument(html) {
    return '<!doctype html><html><head><meta charset="utf-8">' +
      '<meta http-equiv="Content-Security-Policy" content="' + FRAME_POLICY + '">' +
      '<meta http-equiv="x-dns-prefetch-control" content="off">' +
      "</head><body>" + html + "</body></html>";
  }

  function htmlSandboxed(item) {
    var frame = el("iframe", {
      class: "sk-html-frame",
      title: "Tool output (sandboxed HTML)",
      referrerpolicy: "no-referrer",
      loading: "lazy",
    });
    // An EMPTY sandbox attribute: every restriction on (scripts, same origin, forms, popups).
    frame.setAttribute("sandbox", "");
    frame.srcdoc = frameDocument(item.html);
    return titled("html_sandboxed", null, frame);
  }

  var RENDERERS = {
    notice: notice,
    markdown: markdown,
    table: table,
    json: json,
    html_sandboxed: htmlSandboxed,
  };

  /* renderOutputs(container, details): the run's outputs and, for a failed run, its error
     summary. The server normalised ui_payload; anything unknown is skipped with a note. */
  function renderOutputs(container, details) {
    container.textContent = "";
    var payload = details.ui_payload || {};
    var outputs = Array.isArray(payload.outputs) ? payload.outputs : [];
    if (details.error_summary && details.status !== "succeeded") {
      var summary = el("div", { id: "run-error", class: "sk-output sk-notice sk-notice-error", role: "alert" });
      summary.appendChild(el("strong", {}, (STATUS_WORDS[details.status] || "Error") + ": "));
      summary.appendChild(el("pre", { class: "sk-error-summary" }, details.error_summary));
      container.appendChild(summary);
    }
    outputs.forEach(function (item) {
      var render = item && RENDERERS[item.kind];
      container.appendChild(render ? render(item)
        : el("p", { class: "hint" }, "An output of kind “" + (item && item.kind) + "” cannot be shown here."));
    });
    if (!outputs.length && !details.error_summary) {
      container.appendChild(el("p", { class: "hint" }, "The run produced no output."));
    }
  }

  function formatBytes(bytes) {
    if (bytes < 1024) return bytes + " B";
    if (bytes < 1024 * 1024) return (bytes / 1024).toFixed(1) + " KB";
    return (bytes / 1024 / 1024).toFixed(1) + " MB";
  }

  function renderArtifacts(list, details) {
    list.textContent = "";
    var artifacts = details.artifacts || [];
    artifacts.forEach(function (artifact) {
      var item = el("li");
      var name = artifact.path.split("/").pop() || artifact.path;
      // Every artifact lives under output/: the prefix says nothing to the author.
      var shown = artifact.path.replace(/^output\//, "");
      item.appendChild(el("a", { href: artifact.download_url, download: name }, shown));
      item.appendChild(el("span", { class: "muted" }, " · " + formatBytes(artifact.bytes || 0)));
      list.appendChild(item);
    });
    list.hidden = !artifacts.length;
  }

  function streamSection(details, name) {
    var section = el("div", { class: "sk-stream", "data-stream": name });
    var bytes = details[name + "_bytes"] || 0;
    var heading = name + " · " + bytes + " bytes";
    if (details[name + "_truncated"]) {
      heading += " · truncated to " + details[name + "_max_bytes"] + " bytes";
    }
    section.appendChild(el("h4", { id: "debug-" + name + "-heading" }, heading));
    var text = details[name] || "";
    section.appendChild(text
      ? el("pre", { id: "debug-" + name, class: "sk-debug-text" }, text)
      : el("p", { id: "debug-" + name, class: "hint" }, "No " + name + "."));
    return section;
  }

  function debugFacts(details) {
    var facts = el("dl", { class: "sk-facts" });
    [
      ["Run", details.run_id], ["Snapshot", details.snapshot_id], ["Version", details.version_id],
      ["Status", details.status], ["Action", details.action_id || "—"],
      ["Requested", details.requested_at], ["Started", details.started_at || "—"],
      ["Finished", details.finished_at || "—"],
    ].forEach(function (pair) {
      facts.appendChild(el("dt", {}, pair[0]));
      facts.appendChild(el("dd", {}, cellText(pair[1])));
    });
    return facts;
  }

  /* renderDebug(box, details | null): run facts, stdout/stderr with byte counts and truncation. */
  function renderDebug(box, details) {
    box.textContent = "";
    if (!details) {
      box.appendChild(el("p", { class: "hint" }, "No run yet: run details appear here after a run."));
      return;
    }
    box.appendChild(debugFacts(details));
    box.appendChild(streamSection(details, "stdout"));
    box.appendChild(streamSection(details, "stderr"));
  }

  /* copyJson(details, fallbackBox): the whole run details on the clipboard; without clipboard
     access, the JSON is shown in a textarea with the text selected, for Ctrl+C. */
  function copyJson(details, fallbackBox) {
    var text = JSON.stringify(details, null, 2);
    function fallback() {
      fallbackBox.textContent = "";
      var area = el("textarea", { id: "debug-json", rows: 8, readonly: true, "aria-label": "Run details as JSON" });
      area.value = text;
      fallbackBox.appendChild(el("p", { class: "hint" }, "Copying is not allowed here: press Ctrl+C to copy the selected JSON."));
      fallbackBox.appendChild(area);
      area.focus();
      area.select();
      return Promise.resolve(false);
    }
    if (!navigator.clipboard || !navigator.clipboard.writeText) return fallback();
    return navigator.clipboard.writeText(text).then(function () { return true; }, fallback);
  }

  /* "Queued…", "Running… 3 s" (whole seconds, ticking), "Succeeded in 0.4 s". */
  function statusText(status, elapsedMs) {
    var word = STATUS_WORDS[status] || status;
    if (status === "running") return "Running… " + Math.floor(elapsedMs / 1000) + " s";
    if (isTerminal(status)) return word + " in " + (elapsedMs / 1000).toFixed(1) + " s";
    return word;
  }

  window.SkSandboxResults = {
    isTerminal: isTerminal,
    statusText: statusText,
    renderOutputs: renderOutputs,
    renderArtifacts: renderArtifacts,
    renderDebug: renderDebug,
    copyJson: copyJson,
  };
})();
