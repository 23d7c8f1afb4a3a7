#!/usr/bin/env bash
# Renders the app's icon (handler/internal/web/static/icon.svg) as the PNG
# sizes an Outlook add-in manifest names, with Debian's Chromium. Run it
# after changing the icon; the PNGs are committed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
svg="$root/handler/internal/web/static/icon.svg"
out="$root/handler/internal/web/static/addin"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
for n in 16 20 24 32 40 48 64 80 128; do
  printf '<!doctype html><body style="margin:0"><img src="file://%s" width="%d" height="%d" style="display:block">' "$svg" "$n" "$n" >"$tmp/$n.html"
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --default-background-color=00000000 \
    --window-size="$n,$n" --screenshot="$out/icon-$n.png" "file://$tmp/$n.html" 2>/dev/null
done
ls "$out"
