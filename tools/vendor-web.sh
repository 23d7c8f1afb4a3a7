#!/usr/bin/env bash
# Fetches the web app's browser libraries from npm at the pinned versions
# below and writes each file used, its licence and vendor.json (package,
# version, file, sha256). TestVendoredFiles checks the files against it.
#   make vendor-web
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
web="$root/handler/internal/web"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# package version dest-dir file-in-package... (the first LICENSE* is kept)
libs=(
  "@azure/msal-browser 5.30.0 static/vendor lib/msal-browser.min.js lib/redirect-bridge/msal-redirect-bridge.min.js"
  "htm 3.1.1 static/vendor preact/standalone.module.js"
  "chart.js 4.6.1 static/vendor dist/chart.umd.min.js"
  "axe-core 4.14.1 testdata/vendor axe.min.js"
)
for dir in static/vendor testdata/vendor; do
  rm -rf "${web:?}/$dir"
  mkdir -p "$web/$dir"
  echo '[' >"$tmp/$(echo "$dir" | tr / _).json"
done
for lib in "${libs[@]}"; do
  read -r pkg ver dir files <<<"$lib"
  name=$(echo "$pkg" | tr -d @ | tr / -)
  (cd "$tmp" && npm pack "$pkg@$ver" --silent >/dev/null)
  mkdir -p "$tmp/$name"
  tar -xzf "$tmp/$name-$ver.tgz" -C "$tmp/$name"
  list="$tmp/$(echo "$dir" | tr / _).json"
  licence=$(ls "$tmp/$name/package" | grep -i '^licen[cs]e' | head -1)
  cp "$tmp/$name/package/$licence" "$web/$dir/$name.LICENSE.txt"
  for f in $files $licence; do
    out="$name.$(basename "$f")"
    [ "$f" = "$licence" ] && out="$name.LICENSE.txt" || cp "$tmp/$name/package/$f" "$web/$dir/$out"
    sum=$(sha256sum "$web/$dir/$out" | cut -d' ' -f1)
    printf '  {"package": "%s", "version": "%s", "from": "%s", "file": "%s", "sha256": "%s"},\n' "$pkg" "$ver" "$f" "$out" "$sum" >>"$list"
  done
done
for dir in static/vendor testdata/vendor; do
  list="$tmp/$(echo "$dir" | tr / _).json"
  sed -i '$ s/},$/}/' "$list"
  echo ']' >>"$list"
  cp "$list" "$web/$dir/vendor.json"
done
echo "vendored into $web/static/vendor and $web/testdata/vendor"
