// The tool settings page (templates/editor/tool_settings.html): a live preview of the slug as the
// server will store it (trimmed, lower case) and whether it keeps the rules, before it is sent.
// The server decides (apps/tools/services/catalog.py update_slug); this only saves a round trip.
import { byId } from "../shared/dom.js";

const SLUG_PATTERN = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const PLACEHOLDER_PREFIX = "draft-";
const MAX_LENGTH = 128;

// The problem with a canonical slug, or "" when it keeps the rules this page can check
// (uniqueness in the project is the server's to say).
export function slugProblem(slug) {
  if (!slug) {
    return "Type a slug.";
  }
  if (slug.length > MAX_LENGTH) {
    return `At most ${MAX_LENGTH} characters (this is ${slug.length}).`;
  }
  if (!SLUG_PATTERN.test(slug)) {
    return "Only a–z and 0–9 in groups joined by single hyphens: no spaces, no other characters, no hyphen at either end.";
  }
  if (slug.startsWith(PLACEHOLDER_PREFIX)) {
    return `Slugs starting with “${PLACEHOLDER_PREFIX}” are reserved for new tools.`;
  }
  return "";
}

function showPreview(input, preview) {
  const slug = input.value.trim().toLowerCase();
  const problem = slugProblem(slug);
  preview.replaceChildren();
  const shown = document.createElement("code");
  shown.textContent = `${preview.dataset.prefix}${slug || "…"}`;
  preview.append("Preview: ", shown, " — ");
  preview.append(problem || "keeps the rules (the server also checks it is unique).");
  preview.dataset.valid = problem ? "false" : "true";
}

function start() {
  const input = byId("id_slug");
  const preview = byId("slug-preview");
  if (!input || !preview) {
    return; // the slug cannot change (published, or not an admin)
  }
  input.addEventListener("input", () => showPreview(input, preview));
  showPreview(input, preview);
}

start();
