// Entry point of static/vendor/skriptoteket-markdown-<version>.min.js, an ES module (no global).
// Built by scripts/build_editor_assets.sh; used only through static/js/shared/markdown.js, which
// also turns external images into links: renderMarkdown(text), version.
import MarkdownIt from "markdown-it";

// The package version names the built file, too (scripts/build_editor_assets.sh).
export { version } from "./package.json";

// html: false escapes raw HTML in the text, so the output is safe for innerHTML; markdown-it's
// own link validation already drops javascript:, vbscript:, file: and non-image data: URLs.
const markdown = new MarkdownIt({ html: false, linkify: false, typographer: false });

const defaultLinkOpen =
  markdown.renderer.rules.link_open ??
  ((tokens, idx, options, env, self) => self.renderToken(tokens, idx, options));

// Links open in a new tab so a click does not leave a page with unsaved work (the editor) or a
// result (the run page); rel keeps the opened page from reaching back into this one.
markdown.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  tokens[idx].attrSet("target", "_blank");
  tokens[idx].attrSet("rel", "noopener noreferrer");
  return defaultLinkOpen(tokens, idx, options, env, self);
};

export function renderMarkdown(text) {
  return markdown.render(String(text ?? ""));
}
