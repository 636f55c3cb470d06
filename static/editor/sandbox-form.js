/* Sandbox panel, part 1: forms generated from field schemas (input_schema, settings_schema and
   next_actions fields) and the client-side mirror of the server's value coercion (reference
   §3.4), so a bad value is shown at its field before any request is made.
   Global: window.SkSandboxForm. No dependencies. */
(function () {
  "use strict";
  if (window.SkSandboxForm) return;

  // The words Python's bool coercion accepts (apps/tools/schema_values.py).
  var TRUE_WORDS = ["true", "1", "yes", "on"];
  var FALSE_WORDS = ["false", "0", "no", "off"];
  // What Python's int() and float() accept (ASCII digits, "_" between digits).
  var DIGITS = "\\d+(?:_\\d+)*";
  var INTEGER_RE = new RegExp("^[+-]?" + DIGITS + "$");
  var NUMBER_RE = new RegExp(
    "^[+-]?(?:" + DIGITS + "(?:\\.(?:" + DIGITS + ")?)?|\\." + DIGITS + ")(?:[eE][+-]?" + DIGITS + ")?$"
  );

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (attrs[key] !== null && attrs[key] !== undefined && attrs[key] !== false) {
        node.setAttribute(key, attrs[key] === true ? "" : attrs[key]);
      }
    });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function safeId(text) {
    return String(text).replace(/[^A-Za-z0-9_-]/g, "_");
  }

  // --- Coercion (returns {value} to send, {omit: true} for a blank, or {error}) -------------

  function coerceText(raw, scope) {
    // Inputs are trimmed; settings and action input keep the text as typed (server rule).
    var text = scope === "input" ? raw.trim() : raw;
    return text === "" ? { omit: true } : { value: text };
  }

  function coerceInteger(raw) {
    var text = raw.trim();
    if (text === "") return { omit: true };
    if (!INTEGER_RE.test(text)) return { error: "Enter a whole number, e.g. 12." };
    var value = Number(text.replace(/_/g, ""));
    // Beyond 2^53 a JS number loses digits: send the text, the server parses it with int().
    return { value: Number.isSafeInteger(value) ? value : text.replace(/_/g, "") };
  }

  function coerceNumber(raw) {
    var text = raw.trim();
    if (text === "") return { omit: true };
    var value = NUMBER_RE.test(text) ? Number(text.replace(/_/g, "")) : NaN;
    if (!isFinite(value)) return { error: "Enter a number, e.g. 2.5." };
    return { value: value };
  }

  function coerceBooleanWord(raw) {
    var word = raw.trim().toLowerCase();
    if (word === "") return { omit: true };
    if (TRUE_WORDS.indexOf(word) >= 0) return { value: true };
    if (FALSE_WORDS.indexOf(word) >= 0) return { value: false };
    return { error: "Choose yes or no." };
  }

  function coerceEnum(raw, field) {
    var value = raw.trim();
    if (value === "") return { omit: true };
    var known = (field.options || []).some(function (option) { return option.value === value; });
    return known ? { value: value } : { error: "Choose one of the options." };
  }

  function coerceMultiEnum(raw, field) {
    var seen = [];
    for (var i = 0; i < raw.length; i += 1) {
      var value = raw[i].trim();
      var known = (field.options || []).some(function (option) { return option.value === value; });
      if (!value || !known) return { error: "Choose only listed options." };
      if (seen.indexOf(value) < 0) seen.push(value);
    }
    return { value: seen };
  }

  /* coerce(field, raw, scope): the value the server would store for `raw` (a string; a bool for
     a checkbox; a list for multi_enum). */
  function coerce(field, raw, scope) {
    if (raw === null || raw === undefined) return { omit: true };
    switch (field.kind) {
      case "string":
      case "text":
        return coerceText(String(raw), scope);
      case "integer":
        return coerceInteger(String(raw));
      case "number":
        return coerceNumber(String(raw));
      case "boolean":
        return typeof raw === "boolean" ? { value: raw } : coerceBooleanWord(String(raw));
      case "enum":
        return coerceEnum(String(raw), field);
      case "multi_enum":
        return coerceMultiEnum(Array.isArray(raw) ? raw : [], field);
      default:
        return { error: "This kind of field (" + field.kind + ") is not supported." };
    }
  }

  // --- Controls ----------------------------------------------------------------------------

  function initialText(value) {
    if (value === null || value === undefined) return "";
    return typeof value === "string" ? value : String(value);
  }

  function textControl(field, id, initial) {
    var multiline = field.kind === "text";
    var control = el(multiline ? "textarea" : "input", { id: id, name: field.name });
    if (!multiline) control.type = "text";
    if (multiline) control.rows = 3;
    if (field.kind === "integer") control.setAttribute("inputmode", "numeric");
    if (field.kind === "number") control.setAttribute("inputmode", "decimal");
    control.value = initialText(initial);
    return control;
  }

  function enumControl(field, id, initial) {
    var control = el("select", { id: id, name: field.name });
    control.appendChild(el("option", { value: "" }, "—"));
    (field.options || []).forEach(function (option) {
      control.appendChild(el("option", { value: option.value }, option.label || option.value));
    });
    control.value = typeof initial === "string" ? initial : "";
    if (control.selectedIndex < 0) control.value = "";
    return control;
  }

  function booleanControl(field, id, initial) {
    var control = el("input", { id: id, name: field.name, type: "checkbox" });
    control.checked = initial === true || (typeof initial === "string" &&
      TRUE_WORDS.indexOf(initial.trim().toLowerCase()) >= 0);
    return control;
  }

  function multiEnumControl(field, id, initial) {
    var chosen = Array.isArray(initial) ? initial : [];
    var group = el("div", { id: id, class: "sk-choices", role: "group" });
    (field.options || []).forEach(function (option, index) {
      var boxId = id + "-" + index;
      var label = el("label", { for: boxId, class: "sk-check" });
      var box = el("input", { id: boxId, type: "checkbox", value: option.value });
      box.checked = chosen.indexOf(option.value) >= 0;
      label.appendChild(box);
      label.appendChild(document.createTextNode(" " + (option.label || option.value)));
      group.appendChild(label);
    });
    return group;
  }

  function fileControl(field, fileId) {
    var max = typeof field.max === "number" ? field.max : 1;
    var control = el("input", { id: fileId, name: field.name, type: "file", multiple: max > 1 });
    if (Array.isArray(field.accept) && field.accept.length) {
      control.setAttribute("accept", field.accept.join(","));
    }
    return control;
  }

  function fileHint(field) {
    var min = typeof field.min === "number" ? field.min : 0;
    var max = typeof field.max === "number" ? field.max : 1;
    var count = min === max ? String(min) : min + "–" + max;
    var text = count + (max === 1 ? " file" : " files");
    if (Array.isArray(field.accept) && field.accept.length) text += " (" + field.accept.join(", ") + ")";
    return min === 0 ? text + ", optional." : text + ".";
  }

  function rawValue(field, control) {
    if (field.kind === "boolean") return control.checked;
    if (field.kind === "multi_enum") {
      var boxes = control.querySelectorAll("input[type=checkbox]");
      return Array.prototype.filter.call(boxes, function (box) { return box.checked; })
        .map(function (box) { return box.value; });
    }
    return control.value;
  }

  function fieldWrapper(field, id, control, hint) {
    var wrapper = el("div", { class: "sk-field", "data-field": field.name, "data-kind": field.kind });
    if (field.kind === "boolean") {
      var check = el("label", { for: id, class: "sk-check" });
      check.appendChild(control);
      check.appendChild(document.createTextNode(" " + (field.label || field.name)));
      wrapper.appendChild(check);
    } else {
      var label = field.kind === "multi_enum"
        ? el("span", { class: "sk-label", id: id + "-label" }, field.label || field.name)
        : el("label", { for: id }, field.label || field.name);
      if (field.kind === "multi_enum") control.setAttribute("aria-labelledby", id + "-label");
      wrapper.appendChild(label);
      wrapper.appendChild(control);
    }
    if (hint) wrapper.appendChild(el("p", { class: "hint" }, hint));
    wrapper.appendChild(el("p", { class: "field-error", role: "alert", hidden: true }));
    return wrapper;
  }

  /* The field as the server normalises it (names, labels and option values stripped), so the
     keys sent are the keys the server expects. */
  function normalized(field) {
    var copy = {};
    Object.keys(field).forEach(function (key) { copy[key] = field[key]; });
    copy.name = String(field.name).trim();
    copy.label = typeof field.label === "string" ? field.label.trim() : copy.name;
    if (Array.isArray(field.options)) {
      copy.options = field.options.filter(function (option) { return option && typeof option === "object"; })
        .map(function (option) {
          return { value: String(option.value).trim(), label: String(option.label || option.value).trim() };
        });
    }
    return copy;
  }

  /* build(container, fields, options) replaces the container's content with one wrapper per
     field ([data-field=<name>] with a .field-error). options: {scope: "input" | "settings",
     idPrefix, initial: {name: raw}, fileId (id of the file picker)}. Returns a form model. */
  function build(container, fields, options) {
    var scope = options.scope || "settings";
    var initial = options.initial || {};
    var entries = [];
    container.textContent = "";
    (fields || []).forEach(function (raw) {
      if (!raw || typeof raw.name !== "string") return;
      var field = normalized(raw);
      var id = (options.idPrefix || "sk") + "-" + safeId(field.name);
      var control;
      var hint = null;
      if (field.kind === "file") {
        if (scope !== "input") return;
        control = fileControl(field, options.fileId || id);
        id = control.id;
        hint = fileHint(field);
      } else if (field.kind === "boolean") {
        control = booleanControl(field, id, initial[field.name]);
      } else if (field.kind === "enum") {
        control = enumControl(field, id, initial[field.name]);
      } else if (field.kind === "multi_enum") {
        control = multiEnumControl(field, id, initial[field.name]);
      } else {
        control = textControl(field, id, initial[field.name]);
      }
      var wrapper = fieldWrapper(field, id, control, hint);
      container.appendChild(wrapper);
      entries.push({ field: field, control: control, wrapper: wrapper });
    });
    return new FormModel(entries, scope);
  }

  function FormModel(entries, scope) {
    this.entries = entries;
    this.scope = scope;
  }

  FormModel.prototype.fileEntry = function () {
    return this.entries.filter(function (entry) { return entry.field.kind === "file"; })[0] || null;
  };

  FormModel.prototype.files = function () {
    var entry = this.fileEntry();
    return entry ? Array.prototype.slice.call(entry.control.files || []) : [];
  };

  /* The raw values by field name (to carry typed values over when the schema changes). */
  FormModel.prototype.rawValues = function () {
    var raw = {};
    this.entries.forEach(function (entry) {
      if (entry.field.kind !== "file") raw[entry.field.name] = rawValue(entry.field, entry.control);
    });
    return raw;
  };

  /* read() → {values, errors}: values as the server will coerce them (blanks left out), errors
     by field name. `extraFiles` counts files that will be reused from the session. */
  FormModel.prototype.read = function (extraFiles) {
    var values = {};
    var errors = {};
    var scope = this.scope;
    this.entries.forEach(function (entry) {
      var field = entry.field;
      if (field.kind === "file") {
        var problem = fileCountProblem(field, entry.control.files.length + (extraFiles || 0));
        if (problem) errors[field.name] = problem;
        return;
      }
      var result = coerce(field, rawValue(field, entry.control), scope);
      if (result.error) errors[field.name] = result.error;
      else if (!result.omit) values[field.name] = result.value;
    });
    return { values: values, errors: errors };
  };

  function fileCountProblem(field, count) {
    var min = typeof field.min === "number" ? field.min : 0;
    var max = typeof field.max === "number" ? field.max : 1;
    if (count < min) return min === 1 ? "Choose a file." : "Choose at least " + min + " files.";
    if (count > max) return max === 1 ? "Choose only one file." : "Choose at most " + max + " files.";
    return null;
  }

  FormModel.prototype.showErrors = function (errors) {
    var first = null;
    this.entries.forEach(function (entry) {
      var box = entry.wrapper.querySelector(".field-error");
      var message = errors[entry.field.name];
      box.textContent = message || "";
      box.hidden = !message;
      entry.wrapper.classList.toggle("invalid", Boolean(message));
      if (message && !first) first = entry.control;
    });
    if (first && first.focus) first.focus();
  };

  /* Field errors from a VALIDATION_ERROR's details ({field} or {fields: {name: [..]}}); returns
     true when at least one was placed on a field of this form. */
  FormModel.prototype.showServerErrors = function (details, message) {
    var errors = {};
    var names = this.entries.map(function (entry) { return entry.field.name; });
    if (details && typeof details.field === "string") errors[details.field] = message;
    if (details && details.fields && typeof details.fields === "object") {
      Object.keys(details.fields).forEach(function (name) {
        var list = details.fields[name];
        errors[name] = Array.isArray(list) ? list.join(" ") : String(list);
      });
    }
    var placed = Object.keys(errors).filter(function (name) { return names.indexOf(name) >= 0; });
    if (placed.length) this.showErrors(errors);
    return placed.length > 0;
  };

  FormModel.prototype.setDisabled = function (disabled) {
    this.entries.forEach(function (entry) {
      var controls = entry.control.matches("input, select, textarea")
        ? [entry.control] : entry.control.querySelectorAll("input");
      Array.prototype.forEach.call(controls, function (control) { control.disabled = disabled; });
    });
  };

  window.SkSandboxForm = { build: build, coerce: coerce, el: el };
})();
