// Entry point of static/vendor/skriptoteket-editor-<version>.min.js, an ES module (no global).
// Built by scripts/build_editor_assets.sh; the API is fixed by the editor page contract
// (static/js/editor/view.js): createCodeEditor(parent, options), version.
import { basicSetup } from "codemirror";
import { Annotation, Compartment, EditorState } from "@codemirror/state";
import { EditorView, keymap } from "@codemirror/view";
import { indentWithTab } from "@codemirror/commands";
import { indentUnit } from "@codemirror/language";
import { python } from "@codemirror/lang-python";
import { json } from "@codemirror/lang-json";
import { lintGutter, setDiagnostics } from "@codemirror/lint";

// The package version names the built file, too (scripts/build_editor_assets.sh).
export { version } from "./package.json";

// Marks transactions made by setValue so the update listener does not report them as user edits.
const programmatic = Annotation.define();

const theme = EditorView.theme({
  "&": { border: "1px solid #8a8a8a", borderRadius: "3px", backgroundColor: "#fff" },
  "&.cm-focused": { outline: "2px solid #1a5fb4", outlineOffset: "1px" },
  ".cm-scroller": {
    fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace",
    lineHeight: "1.45",
  },
  ".cm-content, .cm-gutter": { minHeight: "12em" },
});

function languageExtension(language) {
  if (language === "json") {
    return json();
  }
  if (language === "python") {
    return python();
  }
  throw new Error(`createCodeEditor: unknown language ${JSON.stringify(language)}`);
}

function readOnlyExtension(readOnly) {
  // Both facets: readOnly stops commands from editing, editable=false stops the DOM from taking input.
  return [EditorState.readOnly.of(readOnly), EditorView.editable.of(!readOnly)];
}

function clamp(value, low, high) {
  return Math.min(Math.max(value, low), high);
}

// Python reports columns in characters (code points); CodeMirror offsets are UTF-16 units.
function utf16Offset(text, column) {
  let offset = 0;
  for (let seen = 1; seen < column && offset < text.length; seen += 1) {
    offset += text.codePointAt(offset) > 0xffff ? 2 : 1;
  }
  return offset;
}

// 1-based line/column -> a CodeMirror diagnostic; out-of-range positions are clamped to the document.
function toDiagnostic(doc, item) {
  const lineNumber = clamp(Math.trunc(Number(item.line) || 1), 1, doc.lines);
  const line = doc.line(lineNumber);
  const column = Math.max(Math.trunc(Number(item.column) || 1), 1);
  const from = line.from + utf16Offset(line.text, column);
  // One character wide so the range is visible; at the end of a line it becomes a point marker.
  const to = from < line.to ? from + 1 : from;
  return {
    from,
    to,
    severity: item.severity === "warning" ? "warning" : "error",
    message: String(item.message ?? ""),
  };
}

export function createCodeEditor(parentElement, options = {}) {
  const onChange = options.onChange;
  const readOnlyCompartment = new Compartment();
  const view = new EditorView({
    parent: parentElement,
    state: EditorState.create({
      doc: options.doc ?? "",
      extensions: [
        basicSetup,
        languageExtension(options.language ?? "python"),
        indentUnit.of("    "),
        EditorState.tabSize.of(4),
        keymap.of([indentWithTab]),
        lintGutter(),
        readOnlyCompartment.of(readOnlyExtension(Boolean(options.readOnly))),
        theme,
        EditorView.updateListener.of((update) => {
          const fromSetValue = update.transactions.some((tr) => tr.annotation(programmatic));
          if (update.docChanged && !fromSetValue && typeof onChange === "function") {
            onChange(update.state.doc.toString());
          }
        }),
      ],
    }),
  });

  return {
    view,
    getValue() {
      return view.state.doc.toString();
    },
    setValue(text) {
      view.dispatch({
        changes: { from: 0, to: view.state.doc.length, insert: String(text ?? "") },
        annotations: programmatic.of(true),
      });
    },
    setReadOnly(readOnly) {
      view.dispatch({
        effects: readOnlyCompartment.reconfigure(readOnlyExtension(Boolean(readOnly))),
      });
    },
    setDiagnostics(items) {
      const diagnostics = (items ?? []).map((item) => toDiagnostic(view.state.doc, item));
      view.dispatch(setDiagnostics(view.state, diagnostics));
    },
    focus() {
      view.focus();
    },
  };
}
