// Forms generated from field schemas (input_schema, settings_schema and next_actions fields).
// Values are read as the server will coerce them (./schema-values.js), so a bad value is shown at
// its field before any request is made; files are checked against the file field's count and the
// server's upload constraints before they are sent.
import { el, formatBytes } from "./dom.js";
import { coerce, TRUE_WORDS } from "./schema-values.js";

function safeId(text) {
  return String(text).replace(/[^A-Za-z0-9_-]/g, "_");
}

// --- Files ------------------------------------------------------------------------------------

function fileBounds(field) {
  return {
    min: typeof field.min === "number" ? field.min : 0,
    max: typeof field.max === "number" ? field.max : 1,
  };
}

function fileHint(field) {
  const { min, max } = fileBounds(field);
  const count = min === max ? String(min) : `${min}–${max}`;
  let text = `${count}${max === 1 ? " file" : " files"}`;
  if (Array.isArray(field.accept) && field.accept.length) {
    text += ` (${field.accept.join(", ")})`;
  }
  return min === 0 ? `${text}, optional.` : `${text}.`;
}

// The server's upload constraints ({max_files, max_file_bytes, max_total_bytes}) as a sentence.
export function describeUploadLimits(limits) {
  const parts = [`at most ${formatBytes(limits.max_file_bytes)} a file`];
  parts.push(`${formatBytes(limits.max_total_bytes)} in all`);
  return `Up to ${limits.max_files} files per run, ${parts.join(", ")}.`;
}

function fileProblem(field, files, extra, limits) {
  const { min, max } = fileBounds(field);
  const count = files.length + extra;
  if (count < min) {
    return min === 1 ? "Choose a file." : `Choose at least ${min} files.`;
  }
  if (count > max) {
    return max === 1 ? "Choose only one file." : `Choose at most ${max} files.`;
  }
  if (!limits) {
    return null;
  }
  if (files.length > limits.max_files) {
    return `Choose at most ${limits.max_files} files.`;
  }
  const big = files.find((file) => file.size > limits.max_file_bytes);
  if (big) {
    return `${big.name} is larger than ${formatBytes(limits.max_file_bytes)}.`;
  }
  const total = files.reduce((sum, file) => sum + file.size, 0);
  if (total > limits.max_total_bytes) {
    return `The files are larger than ${formatBytes(limits.max_total_bytes)} together.`;
  }
  return null;
}

// Details of an upload refusal (validate_uploads / validate_inputs) belong to the file field.
const FILE_DETAIL_KEYS = ["max_files", "max_file_bytes", "max_total_bytes", "files_count"];

// --- Controls ---------------------------------------------------------------------------------

function initialText(value) {
  if (value === null || value === undefined) {
    return "";
  }
  return typeof value === "string" ? value : String(value);
}

function textControl(field, id, initial) {
  const multiline = field.kind === "text";
  const control = el(multiline ? "textarea" : "input", { id, name: field.name });
  if (multiline) {
    control.rows = 3;
  } else {
    control.type = "text";
  }
  if (field.kind === "integer") {
    control.setAttribute("inputmode", "numeric");
  }
  if (field.kind === "number") {
    control.setAttribute("inputmode", "decimal");
  }
  control.value = initialText(initial);
  return control;
}

function enumControl(field, id, initial) {
  const control = el("select", { id, name: field.name });
  control.append(el("option", { value: "" }, "—"));
  for (const option of field.options || []) {
    control.append(el("option", { value: option.value }, option.label || option.value));
  }
  control.value = typeof initial === "string" ? initial : "";
  if (control.selectedIndex < 0) {
    control.value = "";
  }
  return control;
}

function booleanControl(field, id, initial) {
  const control = el("input", { id, name: field.name, type: "checkbox" });
  control.checked =
    initial === true ||
    (typeof initial === "string" && TRUE_WORDS.includes(initial.trim().toLowerCase()));
  return control;
}

function multiEnumControl(field, id, initial) {
  const chosen = Array.isArray(initial) ? initial : [];
  const group = el("div", { id, class: "sk-choices", role: "group" });
  (field.options || []).forEach((option, index) => {
    const boxId = `${id}-${index}`;
    const label = el("label", { for: boxId, class: "sk-check" });
    const box = el("input", { id: boxId, type: "checkbox", value: option.value });
    box.checked = chosen.includes(option.value);
    label.append(box, ` ${option.label || option.value}`);
    group.append(label);
  });
  return group;
}

function fileControl(field, id) {
  const { max } = fileBounds(field);
  const control = el("input", { id, name: field.name, type: "file", multiple: max > 1 });
  if (Array.isArray(field.accept) && field.accept.length) {
    control.setAttribute("accept", field.accept.join(","));
  }
  return control;
}

function rawValue(field, control) {
  if (field.kind === "boolean") {
    return control.checked;
  }
  if (field.kind === "multi_enum") {
    const boxes = [...control.querySelectorAll("input[type=checkbox]")];
    return boxes.filter((box) => box.checked).map((box) => box.value);
  }
  return control.value;
}

function fieldWrapper(field, id, control, hints) {
  const wrapper = el("div", {
    class: "sk-field",
    "data-field": field.name,
    "data-kind": field.kind,
  });
  const text = field.label || field.name;
  if (field.kind === "boolean") {
    const check = el("label", { for: id, class: "sk-check" });
    check.append(control, ` ${text}`);
    wrapper.append(check);
  } else if (field.kind === "multi_enum") {
    control.setAttribute("aria-labelledby", `${id}-label`);
    wrapper.append(el("span", { class: "sk-label", id: `${id}-label` }, text), control);
  } else {
    wrapper.append(el("label", { for: id }, text), control);
  }
  for (const [className, hint] of hints) {
    wrapper.append(el("p", { class: className }, hint));
  }
  wrapper.append(el("p", { class: "field-error", role: "alert", hidden: true }));
  return wrapper;
}

// The field as the server normalises it (names, labels and option values stripped), so the keys
// sent are the keys the server expects.
function normalized(field) {
  const name = String(field.name).trim();
  const copy = {
    ...field,
    name,
    label: typeof field.label === "string" ? field.label.trim() : name,
  };
  if (Array.isArray(field.options)) {
    copy.options = field.options
      .filter((option) => option && typeof option === "object")
      .map((option) => ({
        value: String(option.value).trim(),
        label: String(option.label || option.value).trim(),
      }));
  }
  return copy;
}

function control(field, id, initial) {
  if (field.kind === "boolean") {
    return booleanControl(field, id, initial);
  }
  if (field.kind === "enum") {
    return enumControl(field, id, initial);
  }
  if (field.kind === "multi_enum") {
    return multiEnumControl(field, id, initial);
  }
  return textControl(field, id, initial);
}

// --- The form model ---------------------------------------------------------------------------

export class FormModel {
  constructor(entries, scope, uploadLimits) {
    this.entries = entries; // [{field, control, wrapper}]
    this.scope = scope;
    this.uploadLimits = uploadLimits;
  }

  fileEntry() {
    return this.entries.find((entry) => entry.field.kind === "file") || null;
  }

  files() {
    const entry = this.fileEntry();
    return entry ? [...(entry.control.files || [])] : [];
  }

  // The raw values by field name (to carry typed values over when the schema changes).
  rawValues() {
    const raw = {};
    for (const entry of this.entries) {
      if (entry.field.kind !== "file") {
        raw[entry.field.name] = rawValue(entry.field, entry.control);
      }
    }
    return raw;
  }

  // {values, errors}: values as the server will coerce them (blanks left out), errors by field
  // name. `extraFiles` counts files that will be reused from the session.
  read(extraFiles = 0) {
    const values = {};
    const errors = {};
    for (const { field, control: input } of this.entries) {
      if (field.kind === "file") {
        const problem = fileProblem(field, [...input.files], extraFiles, this.uploadLimits);
        if (problem) {
          errors[field.name] = problem;
        }
        continue;
      }
      const result = coerce(field, rawValue(field, input), this.scope);
      if (result.error) {
        errors[field.name] = result.error;
      } else if (!result.omit) {
        values[field.name] = result.value;
      }
    }
    return { values, errors };
  }

  showErrors(errors) {
    let first = null;
    for (const entry of this.entries) {
      const box = entry.wrapper.querySelector(".field-error");
      const message = errors[entry.field.name];
      box.textContent = message || "";
      box.hidden = !message;
      entry.wrapper.classList.toggle("invalid", Boolean(message));
      first = first || (message ? entry.control : null);
    }
    first?.focus?.();
  }

  // Field errors from a VALIDATION_ERROR's details ({field}, {fields: {name: [...]}} or an
  // upload refusal); true when at least one was placed on a field of this form.
  showServerErrors(details, message) {
    const errors = {};
    if (details && typeof details.field === "string") {
      errors[details.field] = message;
    }
    for (const [name, list] of Object.entries(details?.fields || {})) {
      errors[name] = Array.isArray(list) ? list.join(" ") : String(list);
    }
    const files = this.fileEntry();
    if (files && FILE_DETAIL_KEYS.some((key) => key in (details || {}))) {
      errors[files.field.name] = message;
    }
    const names = this.entries.map((entry) => entry.field.name);
    const placed = Object.keys(errors).filter((name) => names.includes(name));
    if (placed.length) {
      this.showErrors(errors);
    }
    return placed.length > 0;
  }

  setDisabled(disabled) {
    for (const entry of this.entries) {
      const inputs = entry.control.matches("input, select, textarea")
        ? [entry.control]
        : entry.control.querySelectorAll("input");
      for (const input of inputs) {
        input.disabled = disabled;
      }
    }
  }
}

// buildForm(container, fields, options) replaces the container's content with one wrapper per
// field ([data-field=<name>] with a .field-error) and returns a FormModel. options: {scope:
// "input" | "settings", idPrefix, initial: {name: raw}, fileId (id of the file picker),
// uploadLimits ({max_files, max_file_bytes, max_total_bytes}, shown under the file picker and
// checked before upload)}. File fields are only built in the "input" scope.
export function buildForm(container, fields, options = {}) {
  const scope = options.scope || "settings";
  const initial = options.initial || {};
  const limits = options.uploadLimits || null;
  const entries = [];
  container.replaceChildren();
  for (const raw of fields || []) {
    if (!raw || typeof raw.name !== "string" || (raw.kind === "file" && scope !== "input")) {
      continue;
    }
    const field = normalized(raw);
    let id = `${options.idPrefix || "sk"}-${safeId(field.name)}`;
    let input;
    const hints = [];
    if (field.kind === "file") {
      id = options.fileId || id;
      input = fileControl(field, id);
      hints.push(["hint", fileHint(field)]);
      if (limits) {
        hints.push(["hint sk-upload-limits", describeUploadLimits(limits)]);
      }
    } else {
      input = control(field, id, initial[field.name]);
    }
    const wrapper = fieldWrapper(field, id, input, hints);
    container.append(wrapper);
    entries.push({ field, control: input, wrapper });
  }
  return new FormModel(entries, scope, limits);
}
