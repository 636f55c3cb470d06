// Small DOM helpers every page module uses. Text always goes in through textContent: tool output
// and server messages are untrusted.

export function byId(id) {
  return document.getElementById(id);
}

// el("a", {href, download: name}, "text"): attributes that are null, undefined or false are left
// out; true becomes an empty attribute (hidden, multiple, novalidate).
export function el(tag, attrs = {}, text = undefined) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined && value !== false) {
      node.setAttribute(key, value === true ? "" : value);
    }
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

// Decimal units, as the limits are set (20 000 000 bytes is "20 MB"), trailing ".0" dropped.
export function formatBytes(bytes) {
  if (bytes < 1000) {
    return `${bytes} B`;
  }
  const [value, unit] = bytes < 1e6 ? [bytes / 1e3, "kB"] : [bytes / 1e6, "MB"];
  return `${Number(value.toFixed(1))} ${unit}`;
}

// An inline status line (.sk-inline-status): empty text hides it, `level` colours it.
export function say(element, text, level = null) {
  element.textContent = text || "";
  element.className = `sk-inline-status${level ? ` sk-${level}` : ""}`;
  element.hidden = !text;
}

// The JSON a page's template put in <script type="application/json" id=...> (json_script).
export function readJsonScript(id) {
  const node = byId(id);
  return node ? JSON.parse(node.textContent) : null;
}
