#!/usr/bin/env bash
# Build the editor page's one-file front-end bundle from static_src/ (package-lock.json pins every version):
#   scripts/build_editor_assets.sh          rebuild static/vendor/skriptoteket-editor-1.0.0.min.js (commit it)
#   scripts/build_editor_assets.sh --check  rebuild into a temp file; exit 1 if the committed file differs
# Node and npm are needed only here: the built file is committed, so running the site or `make test` never
# needs them. --check stays out of `make test` because `npm ci` needs the registry and takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

BUNDLE=static/vendor/skriptoteket-editor-1.0.0.min.js

case "${1:-}" in
  "") check=false ;;
  --check) check=true ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

build() {  # $1: output path, absolute
  local meta
  meta="$(mktemp)"
  (
    cd static_src
    npm ci --no-audit --no-fund
    # --legal-comments=eof keeps the packages' own @license comments at the end of the file;
    # append-licenses.mjs then adds the full license texts of every bundled package (from the metafile).
    npx esbuild editor-bundle.js --bundle --minify --format=iife --global-name=SkBundle \
      --target=es2020 --legal-comments=eof --metafile="$meta" --outfile="$1"
    node append-licenses.mjs "$meta" "$1"
  )
  rm -f "$meta"
}

if [ "$check" = false ]; then
  mkdir -p "$(dirname "$BUNDLE")"
  build "$PWD/$BUNDLE"
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
build "$tmp/bundle.min.js"
if cmp -s "$tmp/bundle.min.js" "$BUNDLE"; then
  echo "OK: $BUNDLE is what static_src/package-lock.json builds"
else
  echo "MISMATCH: $BUNDLE differs from a fresh build; run scripts/build_editor_assets.sh and commit" >&2
  exit 1
fi
