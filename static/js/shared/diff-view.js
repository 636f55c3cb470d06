// A diff of several named texts (a tool's source, schemas, usage instructions), side by side or
// unified, switchable. The line diff and the word changes inside a changed line come from jsdiff
// (the vendor module); this module only lays its hunks out as accessible tables. Used by the
// review screen, the editor's version comparison and the sandbox merge plan.
//
//   renderDiff(container, parts, {labels, mode, caption}) -> {setMode(mode), mode()}
//   contentParts(before, after) -> the five named texts of two tool contents
import { diffWordsWithSpace, structuredPatch } from "../../vendor/skriptoteket-diff-2.0.0.min.js";
import { el } from "./dom.js";

export const MODES = Object.freeze({ SPLIT: "split", UNIFIED: "unified" });
const MODE_KEY = "skriptoteket.diff-mode";
const CONTEXT_LINES = 3;
// jsdiff gives up after this long on a pathological pair; the part then says so.
const DIFF_TIMEOUT_MS = 2000;
// Word changes are looked for only in lines shorter than this (each is a diff of its own).
const WORD_DIFF_MAX = 400;

let instances = 0;

function schemaText(value) {
  return value === null || value === undefined ? "" : JSON.stringify(value, null, 2);
}

// The texts a tool's content is made of, named as the pages show them. `before` may be null
// (nothing to compare with: everything is new).
export function contentParts(before, after) {
  const empty = {};
  const old = before || empty;
  return [
    ["Source", (c) => c.source_code || ""],
    ["Entrypoint", (c) => c.entrypoint || ""],
    ["Input schema (JSON)", (c) => schemaText(c.input_schema)],
    ["Settings schema (JSON)", (c) => schemaText(c.settings_schema)],
    ["Usage instructions", (c) => c.usage_instructions || ""],
  ].map(([name, text]) => ({
    name,
    before: old === empty ? "" : text(old),
    after: text(after || empty),
  }));
}

function savedMode() {
  try {
    return localStorage.getItem(MODE_KEY) === MODES.UNIFIED ? MODES.UNIFIED : MODES.SPLIT;
  } catch {
    return MODES.SPLIT;
  }
}

function saveMode(mode) {
  try {
    localStorage.setItem(MODE_KEY, mode);
  } catch {
    // Private windows may refuse storage; the choice then lasts for this page only.
  }
}

// The hunks of a line diff, or null when jsdiff gave up.
function hunksOf(before, after) {
  const patch = structuredPatch("before", "after", before, after, "", "", {
    context: CONTEXT_LINES,
    timeout: DIFF_TIMEOUT_MS,
  });
  return patch ? patch.hunks : null;
}

// One hunk as rows {kind: "same"|"del"|"add", oldNo, newNo, text}; "\ No newline" markers
// are not lines of the text.
function hunkLines(hunk) {
  let oldNo = hunk.oldStart;
  let newNo = hunk.newStart;
  const lines = [];
  for (const line of hunk.lines) {
    const sign = line[0];
    const text = line.slice(1);
    if (sign === " ") {
      lines.push({ kind: "same", oldNo: oldNo++, newNo: newNo++, text });
    } else if (sign === "-") {
      lines.push({ kind: "del", oldNo: oldNo++, newNo: null, text });
    } else if (sign === "+") {
      lines.push({ kind: "add", oldNo: null, newNo: newNo++, text });
    }
  }
  return lines;
}

// Pairs a run of removed lines with the added lines right after it (a changed block), so
// side by side they face each other and their word changes can be marked.
function blocks(lines) {
  const result = [];
  let index = 0;
  while (index < lines.length) {
    if (lines[index].kind === "same") {
      result.push({ same: lines[index] });
      index += 1;
      continue;
    }
    const dels = [];
    const adds = [];
    while (index < lines.length && lines[index].kind === "del") {
      dels.push(lines[index++]);
    }
    while (index < lines.length && lines[index].kind === "add") {
      adds.push(lines[index++]);
    }
    result.push({ dels, adds });
  }
  return result;
}

// The text of a line with the words that changed against `other` marked (<del>/<ins>).
function markedText(line, other) {
  const cell = document.createDocumentFragment();
  if (!other || line.text.length > WORD_DIFF_MAX || other.text.length > WORD_DIFF_MAX) {
    cell.append(line.text);
    return cell;
  }
  const [from, to] = line.kind === "del" ? [line.text, other.text] : [other.text, line.text];
  for (const change of diffWordsWithSpace(from, to)) {
    if (line.kind === "del" && change.added) {
      continue;
    }
    if (line.kind === "add" && change.removed) {
      continue;
    }
    if (change.added || change.removed) {
      cell.append(el(change.added ? "ins" : "del", { class: "diff-word" }, change.value));
    } else {
      cell.append(change.value);
    }
  }
  return cell;
}

const SPOKEN = { del: "Removed: ", add: "Added: ", same: "" };
const SIGNS = { del: "−", add: "+", same: "" };

function numberCell(number) {
  return el("td", { class: "diff-num" }, number === null ? "" : String(number));
}

function textCell(line, other) {
  const cell = el("td", { class: "diff-text" });
  if (!line) {
    cell.classList.add("diff-blank");
    return cell;
  }
  if (SPOKEN[line.kind]) {
    cell.append(el("span", { class: "visually-hidden" }, SPOKEN[line.kind]));
  }
  cell.append(markedText(line, other));
  return cell;
}

function signCell(line) {
  return el("td", { class: "diff-sign", "aria-hidden": "true" }, line ? SIGNS[line.kind] : "");
}

function hunkRow(hunk, columns) {
  const row = el("tr", { class: "diff-hunk" });
  const text = `Lines ${hunk.oldStart}–${hunk.oldStart + Math.max(hunk.oldLines - 1, 0)} before, ${hunk.newStart}–${hunk.newStart + Math.max(hunk.newLines - 1, 0)} after`;
  row.append(el("td", { colspan: String(columns) }, text));
  return row;
}

function unifiedRows(hunk) {
  const rows = [hunkRow(hunk, 4)];
  for (const block of blocks(hunkLines(hunk))) {
    const lines = block.same ? [block.same] : [...block.dels, ...block.adds];
    for (const line of lines) {
      const partner =
        line.kind === "del"
          ? block.adds[block.dels.indexOf(line)]
          : line.kind === "add"
            ? block.dels[block.adds.indexOf(line)]
            : null;
      const row = el("tr", { class: `diff-${line.kind}` });
      row.append(
        numberCell(line.oldNo),
        numberCell(line.newNo),
        signCell(line),
        textCell(line, partner),
      );
      rows.push(row);
    }
  }
  return rows;
}

function splitRows(hunk) {
  const rows = [hunkRow(hunk, 6)];
  for (const block of blocks(hunkLines(hunk))) {
    const count = block.same ? 1 : Math.max(block.dels.length, block.adds.length);
    for (let i = 0; i < count; i += 1) {
      const left = block.same || block.dels[i] || null;
      const right = block.same || block.adds[i] || null;
      const row = el("tr", { class: block.same ? "diff-same" : "diff-change" });
      const leftOther = left && left.kind === "del" ? right : null;
      const rightOther = right && right.kind === "add" ? left : null;
      row.append(
        numberCell(left ? left.oldNo : null),
        signCell(left),
        textCell(left, leftOther),
        numberCell(right ? right.newNo : null),
        signCell(right),
        textCell(right, rightOther),
      );
      row.children[2].classList.toggle("diff-del", Boolean(left && left.kind === "del"));
      row.children[5].classList.toggle("diff-add", Boolean(right && right.kind === "add"));
      rows.push(row);
    }
  }
  return rows;
}

// Column headers: the line-number and sign columns are narrow, so their names are for screen
// readers only; the text columns name the two sides.
function hidden(name) {
  return ["", name];
}

function headRow(mode, labels) {
  const row = el("tr");
  const columns =
    mode === MODES.UNIFIED
      ? [
          hidden(`Line in ${labels.before}`),
          hidden(`Line in ${labels.after}`),
          hidden("Change"),
          [`${labels.before} → ${labels.after}`, null],
        ]
      : [
          hidden(`Line in ${labels.before}`),
          hidden("Change"),
          [labels.before, null],
          hidden(`Line in ${labels.after}`),
          hidden("Change"),
          [labels.after, null],
        ];
  for (const [shown, spoken] of columns) {
    const cell = el("th", { scope: "col" }, shown);
    if (spoken) {
      cell.append(el("span", { class: "visually-hidden" }, spoken));
    }
    row.append(cell);
  }
  return row;
}

function colgroup(mode) {
  const group = el("colgroup");
  const kinds =
    mode === MODES.UNIFIED
      ? ["num", "num", "sign", "text"]
      : ["num", "sign", "text", "num", "sign", "text"];
  for (const kind of kinds) {
    group.append(el("col", { class: `diff-col-${kind}` }));
  }
  return group;
}

function counts(hunks) {
  let added = 0;
  let removed = 0;
  for (const hunk of hunks) {
    for (const line of hunk.lines) {
      added += line[0] === "+" ? 1 : 0;
      removed += line[0] === "-" ? 1 : 0;
    }
  }
  return { added, removed };
}

function plural(count, word) {
  return `${count} line${count === 1 ? "" : "s"} ${word}`;
}

function partSection(part, mode, labels, id) {
  const section = el("section", {
    class: "diff-part",
    "aria-labelledby": `${id}-title`,
  });
  const title = el("h3", { id: `${id}-title`, class: "diff-part-title" }, part.name);
  section.append(title);
  if (part.before === part.after) {
    section.dataset.changed = "false";
    section.append(el("p", { class: "diff-none muted" }, "No changes."));
    return section;
  }
  section.dataset.changed = "true";
  const hunks = hunksOf(part.before, part.after);
  if (hunks === null) {
    section.append(
      el("p", { class: "diff-none" }, "Changed, but too differently to show line by line."),
    );
    return section;
  }
  const { added, removed } = counts(hunks);
  const summary = `${plural(added, "added")}, ${plural(removed, "removed")}`;
  title.append(" ", el("span", { class: "diff-stat muted" }, summary));
  const table = el("table", { class: `diff-table diff-${mode}` });
  table.append(
    el("caption", { class: "visually-hidden" }, `${part.name}: ${summary}`),
    colgroup(mode),
  );
  const head = el("thead");
  head.append(headRow(mode, labels));
  const body = el("tbody");
  for (const hunk of hunks) {
    body.append(...(mode === MODES.UNIFIED ? unifiedRows(hunk) : splitRows(hunk)));
  }
  table.append(head, body);
  const scroller = el("div", { class: "diff-scroll" });
  scroller.append(table);
  section.append(scroller);
  return section;
}

function modeSwitch(id, current, onChange) {
  const fieldset = el("fieldset", { class: "diff-modes" });
  fieldset.append(el("legend", { class: "visually-hidden" }, "Diff layout"));
  for (const [value, label] of [
    [MODES.SPLIT, "Side by side"],
    [MODES.UNIFIED, "Unified"],
  ]) {
    const input = el("input", {
      type: "radio",
      name: `${id}-mode`,
      id: `${id}-mode-${value}`,
      value,
      checked: value === current,
    });
    input.addEventListener("change", () => onChange(value));
    const labelNode = el("label", { for: input.id }, label);
    fieldset.append(input, labelNode);
  }
  return fieldset;
}

// Render `parts` ([{name, before, after}]) into `container` (emptied first). `labels` name the
// two sides ({before, after}, e.g. "v3" and "v5"); `caption` is said above the parts.
export function renderDiff(container, parts, options = {}) {
  instances += 1;
  const id = container.id || `diff-${instances}`;
  const labels = {
    before: "before",
    after: "after",
    ...(options.labels || {}),
  };
  let mode = options.mode || savedMode();
  const changed = parts.filter((part) => part.before !== part.after).length;
  const body = el("div", { class: "diff-parts" });

  function draw() {
    body.replaceChildren(
      ...parts.map((part, index) => partSection(part, mode, labels, `${id}-${index}`)),
    );
    container.dataset.diffMode = mode;
  }

  const head = el("div", { class: "diff-head" });
  const summary =
    changed === 0 ? "No changes in any part." : `${changed} of ${parts.length} parts changed.`;
  head.append(
    el("p", { class: "diff-summary" }, options.caption ? `${options.caption} ${summary}` : summary),
    modeSwitch(id, mode, (value) => {
      mode = value;
      saveMode(value);
      draw();
    }),
  );
  container.classList.add("diff-view");
  container.replaceChildren(head, body);
  draw();
  return {
    setMode(value) {
      mode = value === MODES.UNIFIED ? MODES.UNIFIED : MODES.SPLIT;
      head.querySelector(`input[value="${mode}"]`).checked = true;
      draw();
    },
    mode: () => mode,
  };
}
