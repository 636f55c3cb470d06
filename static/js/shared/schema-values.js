// The client-side mirror of the server's value coercion (apps/tools/schema_values.py): what a
// form field's raw value becomes when sent, so a bad value is shown at its field before any
// request is made. Empty values are omitted, as the server drops them.

// The words Python's bool coercion accepts.
export const TRUE_WORDS = ["true", "1", "yes", "on"];
const FALSE_WORDS = ["false", "0", "no", "off"];
// What Python's int() and float() accept (ASCII digits, "_" between digits).
const DIGITS = String.raw`\d+(?:_\d+)*`;
const INTEGER_RE = new RegExp(`^[+-]?${DIGITS}$`);
const NUMBER_RE = new RegExp(
  String.raw`^[+-]?(?:${DIGITS}(?:\.(?:${DIGITS})?)?|\.${DIGITS})(?:[eE][+-]?${DIGITS})?$`,
);

// Each coercion answers {value} to send, {omit: true} for a blank, or {error}.

function coerceText(raw, scope) {
  // Inputs are trimmed; settings and action input keep the text as typed (server rule).
  const text = scope === "input" ? raw.trim() : raw;
  return text === "" ? { omit: true } : { value: text };
}

function coerceInteger(raw) {
  const text = raw.trim();
  if (text === "") {
    return { omit: true };
  }
  if (!INTEGER_RE.test(text)) {
    return { error: "Enter a whole number, e.g. 12." };
  }
  const digits = text.replace(/_/g, "");
  const value = Number(digits);
  // Beyond 2^53 a JS number loses digits: send the text, the server parses it with int().
  return { value: Number.isSafeInteger(value) ? value : digits };
}

function coerceNumber(raw) {
  const text = raw.trim();
  if (text === "") {
    return { omit: true };
  }
  const value = NUMBER_RE.test(text) ? Number(text.replace(/_/g, "")) : NaN;
  return Number.isFinite(value) ? { value } : { error: "Enter a number, e.g. 2.5." };
}

function coerceBooleanWord(raw) {
  const word = raw.trim().toLowerCase();
  if (word === "") {
    return { omit: true };
  }
  if (TRUE_WORDS.includes(word)) {
    return { value: true };
  }
  return FALSE_WORDS.includes(word) ? { value: false } : { error: "Choose yes or no." };
}

function isOption(field, value) {
  return (field.options || []).some((option) => option.value === value);
}

function coerceEnum(raw, field) {
  const value = raw.trim();
  if (value === "") {
    return { omit: true };
  }
  return isOption(field, value) ? { value } : { error: "Choose one of the options." };
}

function coerceMultiEnum(raw, field) {
  const seen = [];
  for (const item of raw) {
    const value = item.trim();
    if (!value || !isOption(field, value)) {
      return { error: "Choose only listed options." };
    }
    if (!seen.includes(value)) {
      seen.push(value);
    }
  }
  return { value: seen };
}

// The value the server would store for `raw` (a string; a bool for a checkbox; a list for
// multi_enum). `scope` is "input" (pre-run form) or "settings" (settings and action input).
export function coerce(field, raw, scope) {
  if (raw === null || raw === undefined) {
    return { omit: true };
  }
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
      return { error: `This kind of field (${field.kind}) is not supported.` };
  }
}
