#!/usr/bin/env bash
# Fetch real sample videos and photos (Debian's opencv-doc package) into tests/data/opencv for the tests.
set -euo pipefail
dest="$(cd "$(dirname "$0")/.." && pwd)/tests/data/opencv"
if [ -f "$dest/vtest.avi" ]; then exit 0; fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
if ! apt-get download opencv-doc >/dev/null 2>&1; then
  apt-get update -qq >/dev/null 2>&1 || true
  apt-get download opencv-doc >/dev/null
fi
dpkg -x opencv-doc_*.deb extracted
mkdir -p "$dest"
src=extracted/usr/share/doc/opencv-doc/examples/data
for f in vtest.avi tree.avi Megamind.avi Megamind_bugy.avi lena.jpg fruits.jpg baboon.jpg building.jpg; do
  if [ -f "$src/$f" ]; then cp "$src/$f" "$dest/"; elif [ -f "$src/$f.gz" ]; then gunzip -c "$src/$f.gz" > "$dest/$f"; fi
done
ls "$dest"
