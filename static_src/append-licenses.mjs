// Appends the license texts of every npm package that esbuild put into the bundle, as one comment
// at the end of the file. Most bundled packages (CodeMirror, Lezer, ...) carry no @license comment
// in their code, so --legal-comments=eof alone would ship them without the notice MIT/BSD require.
// Usage: node append-licenses.mjs <esbuild metafile> <bundle file>
import { appendFileSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

const LICENSE_FILE = /^(licen[cs]e|copying)(\.(md|txt))?$|^license-mit\.txt$/i;

// "node_modules/@codemirror/view/dist/index.js" -> "node_modules/@codemirror/view"
function packageDir(inputPath) {
  const start = inputPath.lastIndexOf("node_modules/");
  if (start < 0) {
    return null;
  }
  const parts = inputPath.slice(start).split("/");
  const nameParts = parts[1].startsWith("@") ? 3 : 2;
  return parts.slice(0, nameParts).join("/");
}

function licenseText(dir) {
  const file = readdirSync(dir).find((name) => LICENSE_FILE.test(name));
  if (!file) {
    throw new Error(`no license file in ${dir}: add its notice by hand before shipping it`);
  }
  // "*/" would end the comment early.
  return readFileSync(join(dir, file), "utf8").trim().replaceAll("*/", "* /");
}

function main(metafilePath, bundlePath) {
  const meta = JSON.parse(readFileSync(metafilePath, "utf8"));
  const dirs = [...new Set(Object.keys(meta.inputs).map(packageDir).filter(Boolean))].sort();

  // One entry per distinct license text, listing the packages that share it.
  const byText = new Map();
  for (const dir of dirs) {
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    const text = licenseText(dir);
    const names = byText.get(text) ?? [];
    names.push(`${pkg.name}@${pkg.version} (${pkg.license})`);
    byText.set(text, names);
  }

  const sections = [...byText].map(([text, names]) => `${names.join("\n")}\n\n${text}`);
  const comment = `/*! Third-party packages bundled in this file and their licenses:\n\n${sections.join(
    "\n\n----------------------------------------\n\n",
  )}\n*/\n`;
  appendFileSync(bundlePath, comment);
}

main(process.argv[2], process.argv[3]);
