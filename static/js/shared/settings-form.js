// A per-user settings form built from a settings_schema: load the stored values, save them with
// the expected_state_rev they were loaded at, and on a 409 STATE_REV_CONFLICT reload what is
// stored now and say so. Endpoint-agnostic: the page passes `load()` and `save(rev, values)`
// (the sandbox's resolve/PUT or the runtime's GET/PUT …/settings), both resolving to
// {settings_schema, values, state_rev}.
import { say } from "./dom.js";
import { buildForm } from "./form.js";
import { describeError } from "./messages.js";

export class SettingsForm {
  // elements: {form, fields, save (the submit button), status}; texts: {saved, conflict}.
  constructor({ elements, idPrefix, load, save, texts }) {
    this.elements = elements;
    this.idPrefix = idPrefix;
    this.load = load;
    this.saveValues = save;
    this.texts = texts;
    this.model = null;
    this.fields = [];
    this.stateRev = null;
    this.readOnly = false;
    this.sequence = 0; // answers of an older load or save are dropped
    elements.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
  }

  say(text, level = null) {
    say(this.elements.status, text, level);
  }

  settled() {
    this.elements.save.disabled = this.readOnly || this.stateRev === null;
    this.model?.setDisabled(this.readOnly);
  }

  render(fields, values) {
    this.fields = fields;
    this.model = buildForm(this.elements.fields, fields, {
      scope: "settings",
      idPrefix: this.idPrefix,
      initial: values || {},
    });
    this.settled();
  }

  // Forget the loaded state (the schema went away or the page may not load it); `fields` are
  // shown empty, as they are known.
  reset(fields = [], note = null, level = null) {
    this.sequence += 1;
    this.stateRev = null;
    this.render(fields, {});
    this.say(note, level);
  }

  setReadOnly(readOnly) {
    this.readOnly = readOnly;
    this.settled();
  }

  // Load the stored values; `note` (a warning) is shown once they are in.
  async reload(note = null) {
    const mine = ++this.sequence;
    this.stateRev = null;
    this.settled();
    try {
      const state = await this.load();
      if (mine === this.sequence) {
        this.show(state);
        this.say(note, note ? "warning" : null);
      }
    } catch (error) {
      if (mine === this.sequence) {
        this.say(describeError(error), "error");
      }
    }
  }

  show(state) {
    this.stateRev = state.state_rev;
    this.render(state.settings_schema || this.fields, state.values);
  }

  async save() {
    if (!this.model || this.readOnly || this.stateRev === null) {
      return;
    }
    const { values, errors } = this.model.read();
    this.model.showErrors(errors);
    if (Object.keys(errors).length) {
      this.say("Fix the marked settings first.", "error");
      return;
    }
    this.elements.save.disabled = true;
    const mine = ++this.sequence;
    try {
      const state = await this.saveValues(this.stateRev, values);
      if (mine === this.sequence) {
        this.show(state);
        this.say(this.texts.saved, "ok");
      }
    } catch (error) {
      if (mine !== this.sequence) {
        return;
      }
      if (error.code === "STATE_REV_CONFLICT") {
        await this.reload(this.texts.conflict);
        return;
      }
      this.model.showServerErrors(error.details, error.message);
      this.settled();
      this.say(describeError(error), "error");
    }
  }
}
