// One human message per error code of the editor, lock, run, sandbox and runtime APIs
// (docs/api.md), shared by every page, and the text of an ApiError for a person.

const MESSAGES = {
  DRAFT_LOCK_REQUIRED: "You do not hold the editing lock on this draft, so nothing was written.",
  DRAFT_LOCK_EXPIRED: "Your editing lock expired. The page is taking it again; then try once more.",
  DRAFT_LOCK_HELD:
    "Someone else holds the editing lock on this draft; the page is read-only for you.",
  DRAFT_LOCK_STALE_TOKEN:
    "The editing lock was taken again since this page got it (another tab or a takeover); nothing was written.",
  DRAFT_HEAD_MOVED:
    "The draft was saved elsewhere since you loaded it. Reload the page; your unsaved changes are kept in this browser.",
  NOT_DRAFT_HEAD:
    "This version is no longer the draft being edited. Reload the page to get the current draft.",
  FORCE_REQUIRES_ADMIN: "Only admins can take over another person's editing lock.",
  VALIDATION_ERROR: "Some values are not valid.",
  PUBLISH_REQUIREMENTS:
    "Before review the tool needs a real slug (not draft-…), a profession and a category; an admin sets them.",
  WRONG_VERSION_STATE: "This version is not in a state that allows this.",
  ADMIN_REQUIRED: "This needs the global role admin.",
  SUPERUSER_REQUIRED: "This needs the global role superuser.",
  SNAPSHOT_NOT_FOUND: "That sandbox run is gone. Run the sandbox again.",
  SNAPSHOT_EXPIRED: "That sandbox run has expired. Run the sandbox again.",
  SNAPSHOT_MISMATCH: "That sandbox run belongs to another draft. Run the sandbox again.",
  SESSION_NOT_FOUND: "There is no sandbox session yet. Run the tool first.",
  STATE_REV_CONFLICT:
    "The tool's state changed since this form was shown (another action ran). The state was reloaded; try again.",
  ACTION_NOT_OFFERED:
    "The last run no longer offers this action. Use one of the actions shown now.",
  RUN_LIMIT_REACHED:
    "You have too many runs queued or running. Wait for one to finish, then run again.",
  RUNNER_UNAVAILABLE: "The sandbox runner is not available right now. Try again in a moment.",
  SERVICE_UNAVAILABLE: "The service is not available right now. Try again in a moment.",
  PREVIEW_READ_ONLY:
    "A sandbox preview may read collections but not write them; test writing tools in a sandbox project.",
  PAYLOAD_TOO_LARGE: "This is too large to send.",
  RESULT_TOO_LARGE: "The result is too large; narrow the request.",
  INVALID_SLUG: "That slug is not valid.",
  INVALID_LOCK_TOKEN: "The page sent a malformed lock token. Reload the page.",
  MAINTAINER_RULE: "That maintainer change is not allowed.",
  THROTTLED: "Too many requests. Wait a moment and try again.",
  RATE_LIMITED: "Too many requests. Wait a moment and try again.",
  UNAUTHENTICATED:
    "You are signed out. Sign in again in another tab (this page keeps what you typed), then try again.",
  FORBIDDEN: "You are not allowed to do this (or the page's security token is stale: reload it).",
  NOT_FOUND: "Not found: it may have been deleted, or you no longer have access.",
  PARSE_ERROR: "The server could not read the request.",
  BAD_REQUEST: "The request was malformed.",
  INVALID_ID: "The request named a malformed id.",
  CONFLICT: "This conflicts with a change made meanwhile. Reload and try again.",
  INTERNAL_ERROR: "The server failed. Try again; if it keeps failing, tell an admin.",
  NETWORK_ERROR: "The server could not be reached. Check the connection and try again.",
};

export function messageFor(code, fallback = null) {
  return MESSAGES[code] || fallback || `Something went wrong (${code || "unknown error"}).`;
}

function joined(messages) {
  return []
    .concat(messages)
    .map((item) => (typeof item === "string" ? item : JSON.stringify(item)))
    .join(" ");
}

// What the details of a VALIDATION_ERROR add, as text: {field: [messages]} maps, schema issues,
// unknown input keys and file counts.
export function describeDetails(details = {}) {
  const parts = [];
  for (const [field, messages] of Object.entries(details.fields || {})) {
    parts.push(`${field}: ${joined(messages)}`);
  }
  for (const issue of details.issues || []) {
    parts.push(`${[issue.schema, issue.path].filter(Boolean).join(" ")}: ${issue.message}`);
  }
  if (Array.isArray(details.unknown_keys)) {
    parts.push(`(${details.unknown_keys.join(", ")})`);
  }
  if (typeof details.files_count === "number" && typeof details.min === "number") {
    parts.push(`(${details.files_count} given, ${details.min}–${details.max} allowed)`);
  }
  return parts.join("; ");
}

// The text of a failed request: the message for its code, what the server said when it is more
// precise than that, and the details of a validation error.
export function describeError(error) {
  const code = error.code || `HTTP_${error.status}`;
  let text = messageFor(code, error.message || `The request failed (HTTP ${error.status}).`);
  if (error.message && MESSAGES[code] && !text.includes(error.message)) {
    text += code === "VALIDATION_ERROR" ? ` ${error.message}` : ` (${error.message})`;
  }
  const details = describeDetails(error.details || {});
  return details ? `${text} ${details}` : text;
}
