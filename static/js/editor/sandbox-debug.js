// The sandbox panel's debug section: run facts, stdout and stderr with their byte counts and
// truncation, and the whole run details copied as JSON.
import { el } from "../shared/dom.js";

function streamSection(details, name) {
  const section = el("div", { class: "sk-stream", "data-stream": name });
  let heading = `${name} · ${details[`${name}_bytes`] || 0} bytes`;
  if (details[`${name}_truncated`]) {
    heading += ` · truncated to ${details[`${name}_max_bytes`]} bytes`;
  }
  section.append(el("h4", { id: `debug-${name}-heading` }, heading));
  const text = details[name] || "";
  section.append(
    text
      ? el("pre", { id: `debug-${name}`, class: "sk-debug-text" }, text)
      : el("p", { id: `debug-${name}`, class: "hint" }, `No ${name}.`),
  );
  return section;
}

function debugFacts(details) {
  const facts = el("dl", { class: "sk-facts" });
  const rows = [
    ["Run", details.run_id],
    ["Snapshot", details.snapshot_id],
    ["Version", details.version_id],
    ["Status", details.status],
    ["Action", details.action_id || "—"],
    ["Requested", details.requested_at],
    ["Started", details.started_at || "—"],
    ["Finished", details.finished_at || "—"],
  ];
  for (const [term, value] of rows) {
    facts.append(el("dt", {}, term), el("dd", {}, value === null ? "" : String(value ?? "")));
  }
  return facts;
}

// renderDebug(box, details | null): run facts, stdout/stderr with byte counts and truncation.
export function renderDebug(box, details) {
  box.replaceChildren();
  if (!details) {
    box.append(el("p", { class: "hint" }, "No run yet: run details appear here after a run."));
    return;
  }
  box.append(
    debugFacts(details),
    streamSection(details, "stdout"),
    streamSection(details, "stderr"),
  );
}

// copyJson(details, fallbackBox) -> true when copied: the whole run details on the clipboard;
// without clipboard access the JSON is shown in a textarea with the text selected, for Ctrl+C.
export async function copyJson(details, fallbackBox) {
  const text = JSON.stringify(details, null, 2);
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = el("textarea", {
      id: "debug-json",
      rows: 8,
      readonly: true,
      "aria-label": "Run details as JSON",
    });
    area.value = text;
    const hint = "Copying is not allowed here: press Ctrl+C to copy the selected JSON.";
    fallbackBox.replaceChildren(el("p", { class: "hint" }, hint), area);
    area.focus();
    area.select();
    return false;
  }
}
