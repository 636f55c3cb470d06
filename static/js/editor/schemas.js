// The schema editors' checks (input_schema and settings_schema as JSON text).
//
// Two stages, as the schema rules ask: the text is parsed here first (a parse error is shown with
// line and column and the server is not asked), then the parsed schemas go to the server's
// validate-schemas endpoint (debounced) whose issues carry JSON-pointer paths such as `/0/max`.
// The browser's JSON.parse does not always report where it failed ("Unexpected token ']', "[1,]"
// is not valid JSON"), so a small scanner finds the position and also maps pointers to offsets.

// Blank text means "none": no pre-run form ([]) and no settings (null).
const BLANK = { input_schema: [], settings_schema: null };
const MAX_DEPTH = 512;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const ESCAPES = '"\\/bfnrtu';
const HEX4 = /^[0-9a-fA-F]{4}$/;

class ScanError extends Error {
  constructor(message, offset) {
    super(message);
    this.offset = offset;
  }
}

function escapePointer(key) {
  return String(key).replace(/~/g, "~0").replace(/\//g, "~1");
}

/* Walks JSON text; returns {paths: Map(pointer -> offset of its value)} or throws ScanError. */
export function scanJson(text) {
  const paths = new Map();
  let i = 0;

  function fail(message, at) {
    throw new ScanError(
      i >= text.length && at === undefined ? "Unexpected end of the JSON text" : message,
      at === undefined ? i : at,
    );
  }
  function skipSpace() {
    while (i < text.length && " \t\n\r".includes(text[i])) {
      i += 1;
    }
  }

  function string() {
    const start = i;
    i += 1;
    while (i < text.length) {
      const c = text[i];
      if (c === '"') {
        i += 1;
        return JSON.parse(text.slice(start, i));
      }
      if (c === "\\") {
        const next = text[i + 1];
        if (next === undefined || !ESCAPES.includes(next)) {
          fail("Invalid escape in a string", i);
        }
        if (next === "u" && !HEX4.test(text.slice(i + 2, i + 6))) {
          fail("Invalid \\u escape in a string", i);
        }
        i += next === "u" ? 6 : 2;
        continue;
      }
      if (c < " ") {
        fail("A line break or control character inside a string (write \\n)", i);
      }
      i += 1;
    }
    return fail("Unterminated string", start);
  }

  function number() {
    NUMBER.lastIndex = i;
    const match = NUMBER.exec(text);
    if (!match || match[0] === "-") {
      fail("Invalid number");
    }
    i += match[0].length;
  }

  function container(pointer, depth, close, member) {
    i += 1;
    skipSpace();
    if (text[i] === close) {
      i += 1;
      return;
    }
    for (let index = 0; ; index += 1) {
      member(index, depth + 1);
      skipSpace();
      if (text[i] === ",") {
        i += 1;
        skipSpace();
        if (text[i] === close) {
          fail(`Trailing comma before '${close}'`);
        }
        continue;
      }
      if (text[i] === close) {
        i += 1;
        return;
      }
      fail(`Expected ',' or '${close}'`);
    }
  }

  function value(pointer, depth) {
    skipSpace();
    if (depth > MAX_DEPTH) {
      fail("The JSON is nested too deeply");
    }
    paths.set(pointer, i);
    const c = text[i];
    if (c === "{") {
      container(pointer, depth, "}", (index, inner) => {
        skipSpace();
        if (text[i] !== '"') {
          fail("Expected a property name in double quotes");
        }
        const key = string();
        skipSpace();
        if (text[i] !== ":") {
          fail("Expected ':' after the property name");
        }
        i += 1;
        value(`${pointer}/${escapePointer(key)}`, inner);
      });
    } else if (c === "[") {
      container(pointer, depth, "]", (index, inner) => value(`${pointer}/${index}`, inner));
    } else if (c === '"') {
      string();
    } else if (c === "-" || (c >= "0" && c <= "9")) {
      number();
    } else {
      const word = ["true", "false", "null"].find((candidate) => text.startsWith(candidate, i));
      if (!word) {
        fail(
          c === "'" ? "Strings need double quotes" : `Unexpected character ${JSON.stringify(c)}`,
        );
      }
      i += word.length;
    }
  }

  value("", 0);
  skipSpace();
  if (i < text.length) {
    fail("Unexpected text after the JSON value");
  }
  return { paths };
}

/* 1-based line and column (in characters) of a UTF-16 offset. */
export function lineColumn(text, offset) {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lines = before.split("\n");
  return { line: lines.length, column: Array.from(lines[lines.length - 1]).length + 1 };
}

/* One schema editor's text -> {value, ok, problem?, paths?}. */
export function parseSchemaText(schema, text) {
  if (String(text).trim() === "") {
    return { ok: true, value: BLANK[schema], paths: new Map() };
  }
  try {
    const { paths } = scanJson(text);
    return { ok: true, value: JSON.parse(text), paths };
  } catch (error) {
    const offset = error instanceof ScanError ? error.offset : text.length;
    const where = lineColumn(text, offset);
    const message = `Invalid JSON at line ${where.line}, column ${where.column}: ${error.message}`;
    return { ok: false, value: null, problem: { schema, path: null, ...where, message } };
  }
}

/* Where a server issue's JSON pointer points: its own value, else the nearest parent's. */
export function locate(text, paths, pointer) {
  let candidate = typeof pointer === "string" ? pointer : "";
  for (;;) {
    if (paths.has(candidate)) {
      return lineColumn(text, paths.get(candidate));
    }
    if (candidate === "") {
      return { line: 1, column: 1 };
    }
    candidate = candidate.slice(0, candidate.lastIndexOf("/"));
  }
}

/* Keeps both schema editors checked. `options`: {post(url, body) -> answer (throws), url, delayMs,
 * onResult({input_schema, settings_schema, problems, pending})}. */
export function createChecker(options) {
  const delay = options.delayMs ?? 400;
  let timer = null;
  let sequence = 0;

  function check(texts) {
    const parsed = {
      input_schema: parseSchemaText("input_schema", texts.input_schema),
      settings_schema: parseSchemaText("settings_schema", texts.settings_schema),
    };
    const local = Object.values(parsed)
      .filter((item) => !item.ok)
      .map((item) => item.problem);
    const values = {
      input_schema: parsed.input_schema.value,
      settings_schema: parsed.settings_schema.value,
    };
    sequence += 1;
    clearTimeout(timer);
    if (local.length > 0) {
      // A parse error short-circuits the server check: there is nothing to send.
      options.onResult({ ...values, problems: local, pending: false });
      return;
    }
    options.onResult({ ...values, problems: [], pending: true });
    const mine = sequence;
    timer = setTimeout(() => askServer(mine, texts, parsed, values), delay);
  }

  async function askServer(mine, texts, parsed, values) {
    let answer;
    try {
      answer = await options.post(options.url, values);
    } catch (error) {
      if (mine === sequence) {
        // Not a schema problem: the server validates again on save and run.
        options.onResult({ ...values, problems: [], pending: false, failed: error });
      }
      return;
    }
    if (mine !== sequence) {
      return; // the text changed meanwhile; a newer check is coming
    }
    const problems = (answer.issues || []).map((issue) => {
      const schema = issue.schema === "settings_schema" ? "settings_schema" : "input_schema";
      const where = locate(texts[schema], parsed[schema].paths, issue.path);
      const message = String(issue.message || "Invalid schema");
      return { schema, path: issue.path ?? null, ...where, message };
    });
    options.onResult({ ...values, problems, pending: false });
  }

  return { check };
}
