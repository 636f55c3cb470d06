/* Sandbox panel, part 4: next_actions as forms (#next-actions), one per offered action, fields
   by kind with the action's prefill as initial values (never re-applied over the user's edits:
   the forms are rebuilt only when a new run offers actions).
   Global: window.SkSandboxActions. Needs SkSandboxForm. */
(function () {
  "use strict";
  if (window.SkSandboxActions) return;

  function el(tag, attrs, text) {
    return window.SkSandboxForm.el(tag, attrs, text);
  }

  /* One form per action. An action without fields is just its button (a row of them reads as
     "what next?"); one with fields is a small box of its fields and the button. */
  function actionForm(action, index, onSubmit) {
    var fields = action.fields || [];
    var label = action.label || action.action_id;
    var form = el("form", {
      class: fields.length ? "sk-action sk-action-fields" : "sk-action",
      "data-action-id": action.action_id,
      "aria-label": label,
      novalidate: true,
    });
    var fieldsBox = el("div");
    if (fields.length) form.appendChild(fieldsBox);
    var model = window.SkSandboxForm.build(fieldsBox, fields, {
      scope: "settings", idPrefix: "action-" + index, initial: action.prefill || {},
    });
    var button = el("button", { type: "submit" }, label);
    form.appendChild(button);
    var entry = { action: action, form: form, model: model, button: button };
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (button.disabled) return;
      var read = model.read();
      model.showErrors(read.errors);
      if (Object.keys(read.errors).length === 0) onSubmit(entry, read.values);
    });
    return entry;
  }

  /* render(container, actions, onSubmit) → entries [{action, form, model, button}];
     onSubmit(entry, values) is called with the coerced values of a valid form. */
  function render(container, actions, onSubmit) {
    container.textContent = "";
    var entries = (actions || []).map(function (action, index) {
      return actionForm(action, index, onSubmit);
    });
    if (entries.length) {
      container.appendChild(el("h3", {}, "Continue"));
      var row = el("div", { class: "sk-action-row" });
      entries.forEach(function (entry) { row.appendChild(entry.form); });
      container.appendChild(row);
    }
    container.hidden = entries.length === 0;
    return entries;
  }

  function setDisabled(entries, disabled) {
    entries.forEach(function (entry) {
      entry.button.disabled = disabled;
      entry.model.setDisabled(disabled);
    });
  }

  window.SkSandboxActions = { render: render, setDisabled: setDisabled };
})();
