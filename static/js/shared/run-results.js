// A run's results: the outputs of its normalised ui_payload, its error summary and its artifacts.
// Tool output is untrusted: text goes in through textContent, markdown through ./markdown.js (raw
// HTML off, no external images), HTML only inside an iframe whose sandbox attribute is empty (no
// scripts, no same origin, no forms, no navigation) and whose document carries its own
// Content-Security-Policy (no network at all). Used by the editor's sandbox panel, the run page
// and the run details page; styles in static/css/runs.css.
import { el, formatBytes } from "./dom.js";
import { renderMarkdown } from "./markdown.js";
import { statusWord } from "./run-progress.js";

function cellText(value) {
  return value === null || value === undefined ? "" : String(value);
}

function titled(kind, title, body) {
  const figure = el("figure", { class: `sk-output sk-out-${kind}`, "data-kind": kind });
  if (title) {
    figure.append(el("figcaption", {}, title));
  }
  figure.append(body);
  return figure;
}

function notice(item) {
  const level = ["info", "warning", "error"].includes(item.level) ? item.level : "info";
  const attrs = { class: `sk-output sk-notice sk-notice-${level}`, "data-level": level };
  return el("div", { ...attrs, "data-kind": "notice" }, item.message);
}

function markdown(item) {
  const box = el("div", { class: "sk-output sk-markdown", "data-kind": "markdown" });
  renderMarkdown(box, item.markdown);
  return box;
}

function table(item) {
  const columns = item.columns || [];
  const node = el("table", { class: "list" });
  const head = node.createTHead().insertRow();
  for (const column of columns) {
    head.append(el("th", { scope: "col" }, column.label));
  }
  const body = node.createTBody();
  for (const row of item.rows || []) {
    const tr = body.insertRow();
    for (const column of columns) {
      tr.insertCell().textContent = cellText(row[column.key]);
    }
  }
  const scroller = el("div", { class: "sk-scroll" });
  scroller.append(node);
  return titled("table", item.title, scroller);
}

function json(item) {
  const text = JSON.stringify(item.value, null, 2);
  return titled("json", item.title, el("pre", { class: "sk-json" }, text));
}

// A srcdoc document inherits the page's policy, which allows this site's images and styles; the
// frame's own policy comes first in it and takes the network away entirely: the tool's inline
// styles apply, images only from data: URLs, nothing else loads (the DNS prefetch of link hosts
// is off too). The tool's HTML goes into the body, where its <style> elements still apply (its
// own <html>, <head> or <body> tags only add attributes).
const FRAME_POLICY =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; " +
  "base-uri 'none'; form-action 'none'";

function frameDocument(html) {
  return (
    '<!doctype html><html><head><meta charset="utf-8">' +
    `<meta http-equiv="Content-Security-Policy" content="${FRAME_POLICY}">` +
    '<meta http-equiv="x-dns-prefetch-control" content="off">' +
    `</head><body>${html}</body></html>`
  );
}

function htmlSandboxed(item) {
  const frame = el("iframe", {
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

const RENDERERS = { notice, markdown, table, json, html_sandboxed: htmlSandboxed };

function appendOutputs(container, outputs) {
  for (const item of outputs) {
    const render = item && RENDERERS[item.kind];
    const text = `An output of kind “${item && item.kind}” cannot be shown here.`;
    container.append(render ? render(item) : el("p", { class: "hint" }, text));
  }
}

function outputsOf(uiPayload) {
  return uiPayload && Array.isArray(uiPayload.outputs) ? uiPayload.outputs : [];
}

function noOutput() {
  return el("p", { class: "hint" }, "The run produced no output.");
}

// renderOutputs(container, uiPayload): the container's content becomes the payload's outputs
// (anything of an unknown kind is skipped with a note).
export function renderOutputs(container, uiPayload) {
  container.replaceChildren();
  const outputs = outputsOf(uiPayload);
  appendOutputs(container, outputs);
  if (!outputs.length) {
    container.append(noOutput());
  }
}

// A failed run's payload repeats its error summary as an error notice (the runner contract's
// failure payload); the summary is shown once, above the outputs, so that notice is left out.
function repeatsSummary(item, summary) {
  if (!summary || !item || item.kind !== "notice" || item.level !== "error") {
    return false;
  }
  const message = String(item.message || "").trim();
  // The notice may be the summary cut to the notice size limit.
  return message.length > 0 && summary.trim().startsWith(message);
}

// renderRunResult(container, details): a run's outputs and, when it did not succeed, its error
// summary first (#run-error), once.
export function renderRunResult(container, details) {
  container.replaceChildren();
  const failed = details.error_summary && details.status !== "succeeded";
  if (failed) {
    const summary = el("div", {
      id: "run-error",
      class: "sk-output sk-notice sk-notice-error",
      role: "alert",
    });
    summary.append(
      el("strong", {}, `${statusWord(details.status) || "Error"}: `),
      el("pre", { class: "sk-error-summary" }, details.error_summary),
    );
    container.append(summary);
  }
  const all = outputsOf(details.ui_payload);
  const outputs = failed ? all.filter((item) => !repeatsSummary(item, details.error_summary)) : all;
  appendOutputs(container, outputs);
  if (!outputs.length && !failed) {
    container.append(noOutput());
  }
}

// renderArtifacts(container, artifacts): download links for the files a run saved
// ([{artifact_id, path, bytes, download_url}]). A <ul>/<ol> container gets the items itself,
// any other element a list inside it; the container is hidden when there are none.
export function renderArtifacts(container, artifacts) {
  const list = ["UL", "OL"].includes(container.tagName) ? container : el("ul");
  list.replaceChildren();
  for (const artifact of artifacts || []) {
    const name = artifact.path.split("/").pop() || artifact.path;
    // Every artifact lives under output/: the prefix says nothing to the reader.
    const shown = artifact.path.replace(/^output\//, "");
    const item = el("li", { "data-artifact-id": artifact.artifact_id });
    item.append(
      el("a", { href: artifact.download_url, download: name }, shown),
      el("span", { class: "muted" }, ` · ${formatBytes(artifact.bytes || 0)}`),
    );
    list.append(item);
  }
  if (list !== container) {
    list.className = "sk-artifacts";
    container.replaceChildren(list);
  }
  container.hidden = !(artifacts || []).length;
}
