#!/usr/bin/env bash
# Build the front-end's vendor modules from static_src/ (package-lock.json pins every version):
#   static/vendor/skriptoteket-editor-<version>.min.js    CodeMirror 6 (the editor page only)
#   static/vendor/skriptoteket-markdown-<version>.min.js  markdown-it (every page that shows tool output)
#   static/vendor/skriptoteket-diff-<version>.min.js      jsdiff (the pages that show a diff)
# All are ES modules (esbuild format esm): the pages' own modules under static/js/ import them.
# <version> is static_src/package.json's version; bump it when a bundle's exports change.
#   scripts/build_editor_assets.sh          rebuild the files (commit them)
#   scripts/build_editor_assets.sh --check  rebuild into a temp folder; exit 1 if a committed file differs
# Node and npm are needed only here and in `make lint-js`: the built files are committed, so running
# the site or `make test` never needs them. --check stays out of `make test` because `npm ci` needs
# the registry and takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
  "") check=false ;;
  --check) check=true ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

VERSION="$(node -p 'require("./static_src/package.json").version')"
BUNDLES=(editor markdown diff)  # static_src/<name>-bundle.js -> static/vendor/skriptoteket-<name>-<version>.min.js

build() {  # $1: output folder, absolute
  local meta name out
  meta="$(mktemp)"
  (
    cd static_src
    npm ci --no-audit --no-fund
    for name in "${BUNDLES[@]}"; do
      out="$1/skriptoteket-$name-$VERSION.min.js"
      # --legal-comments=eof keeps the packages' own @license comments at the end of the file;
      # append-licenses.mjs then adds the full license texts of every bundled package (from the metafile).
      npx esbuild "$name-bundle.js" --bundle --minify --format=esm \
        --target=es2020 --legal-comments=eof --metafile="$meta" --outfile="$out"
      node append-licenses.mjs "$meta" "$out"
    done
  )
  rm -f "$meta"
}

if [ "$check" = false ]; then
  mkdir -p static/vendor
  build "$PWD/static/vendor"
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
build "$tmp"
status=0
for name in "${BUNDLES[@]}"; do
  file="skriptoteket-$name-$VERSION.min.js"
  if cmp -s "$tmp/$file" "static/vendor/$file"; then
    echo "OK: static/vendor/$file is what static_src/package-lock.json builds"
  else
    echo "MISMATCH: static/vendor/$file differs from a fresh build; run $0 and commit" >&2
    status=1
  fi
done
exit "$status"
