// Entry point of static/vendor/skriptoteket-diff-<version>.min.js, an ES module (no global).
// Built by scripts/build_editor_assets.sh; used only through static/js/shared/diff-view.js:
// structuredPatch(oldName, newName, oldText, newText, oldHeader, newHeader, options) gives the
// hunks of a line diff (jsdiff's Myers diff with context lines), diffWordsWithSpace(a, b) the
// word changes inside a changed line, version.
export { structuredPatch, diffWordsWithSpace } from "diff";

// The package version names the built file, too (scripts/build_editor_assets.sh).
export { version } from "./package.json";
