// next_actions as forms, one per offered action, with the action's prefill as initial values
// (never re-applied over the user's edits: the forms are rebuilt only when a new run offers
// actions), and an ActionSession that sends them with the session's expected_state_rev. The
// endpoints are the page's: the sandbox and the production runtime differ only in URLs and bodies.
import { el } from "./dom.js";
import { buildForm } from "./form.js";
import { describeError } from "./messages.js";
import { statusWord } from "./run-progress.js";

// One form per action. An action without fields is just its button (a row of them reads as
// "what next?"); one with fields is a small box of its fields and the button.
function actionForm(action, index, onSubmit) {
  const fields = action.fields || [];
  const label = action.label || action.action_id;
  const form = el("form", {
    class: fields.length ? "sk-action sk-action-fields" : "sk-action",
    "data-action-id": action.action_id,
    "aria-label": label,
    novalidate: true,
  });
  const fieldsBox = el("div");
  if (fields.length) {
    form.append(fieldsBox);
  }
  const model = buildForm(fieldsBox, fields, {
    scope: "settings",
    idPrefix: `action-${index}`,
    initial: action.prefill || {},
  });
  const button = el("button", { type: "submit" }, label);
  form.append(button);
  const entry = { action, form, model, button };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (button.disabled) {
      return;
    }
    const { values, errors } = model.read();
    model.showErrors(errors);
    if (Object.keys(errors).length === 0) {
      onSubmit(entry, values);
    }
  });
  return entry;
}

// renderActions(container, actions, onSubmit) -> entries [{action, form, model, button}];
// onSubmit(entry, values) gets the coerced values of a valid form. The container is hidden when
// no action is offered.
export function renderActions(container, actions, onSubmit) {
  container.replaceChildren();
  const entries = (actions || []).map((action, index) => actionForm(action, index, onSubmit));
  if (entries.length) {
    const row = el("div", { class: "sk-action-row" });
    row.append(...entries.map((entry) => entry.form));
    container.append(el("h3", {}, "Continue"), row);
  }
  container.hidden = entries.length === 0;
  return entries;
}

export function setActionsDisabled(entries, disabled) {
  for (const entry of entries) {
    entry.button.disabled = disabled;
    entry.model.setDisabled(disabled);
  }
}

// The state revision a session's actions are sent with. new ActionSession({start, loadStateRev}):
// `start(actionId, input, expectedStateRev)` posts the action and resolves to the accepted run
// ({run_id, state_rev}); `loadStateRev()` reads the session's current revision (null if none).
export class ActionSession {
  constructor({ start, loadStateRev }) {
    this.start = start;
    this.loadStateRev = loadStateRev;
    this.stateRev = null;
    this.lastGood = null; // the last run whose result (and actions) the page shows
  }

  async reload() {
    this.stateRev = await this.loadStateRev();
    return this.stateRev;
  }

  forget() {
    this.stateRev = null;
    this.lastGood = null;
  }

  // What the page shows once a run of the session has finished: {show, failed}. A failed (or
  // timed out, or cancelled) ACTION run leaves the session as it was on the server (same state
  // and revision), so the page keeps showing the last good run with its actions (`show` is
  // null: nothing to re-render) and tells the failure (`failed`: the failed run's details).
  // Anything else becomes the run to show.
  settle(details) {
    if (details.action_id && details.status !== "succeeded" && this.lastGood) {
      return { show: null, failed: details };
    }
    this.lastGood = details;
    return { show: details, failed: null };
  }

  // Send the action of `entry` with `values` -> the accepted run, or null when there is no
  // session revision to send (loadStateRev said why). A state conflict reloads the revision and
  // is rethrown with `error.text` saying so; a validation error is shown at the action's fields.
  async submit(entry, values) {
    if (this.stateRev === null && (await this.reload()) === null) {
      return null; // the revision could not be read after the last run, nor now
    }
    try {
      const accepted = await this.start(entry.action.action_id, values, this.stateRev);
      this.stateRev = accepted.state_rev ?? this.stateRev;
      return accepted;
    } catch (error) {
      if (error.code === "STATE_REV_CONFLICT") {
        await this.reload();
        error.text = `${describeError(error)} (The session is now at revision ${this.stateRev}.)`;
      } else if (error.code === "VALIDATION_ERROR") {
        entry.model.showServerErrors(error.details, error.message);
      }
      throw error;
    }
  }
}

// The message for a failed action run whose session kept its last good state.
export function actionFailureText(failed, entries) {
  const entry = entries.find((item) => item.action.action_id === failed.action_id);
  const label = entry ? entry.action.label || entry.action.action_id : failed.action_id;
  const summary = failed.error_summary ? `: ${failed.error_summary}` : ".";
  return `The action “${label}” did not succeed (${statusWord(failed.status).toLowerCase()})${summary} Nothing changed: the result and the actions below are still the current ones, so you can try again.`;
}
