#!/usr/bin/env bash
# Screenshots of the desktop app on a real X server (Xvfb): with no arguments the README's four,
# docs/screenshot-{marking,tracking,timeline,images}.png; `scripts/screenshot.sh OUT.png` one plain view.
# Needs: apt-get install -y xvfb imagemagick libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-xinerama0 \
#        libxcb-render-util0 libxcb-image0 libxcb-shape0 libxkbcommon-x11-0
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -eq 0 ]; then set -- docs --scene all; fi
out="$1"
shift
display=":${ANYMASK_XVFB_DISPLAY:-99}"
Xvfb "$display" -screen 0 1360x860x24 -nolisten tcp &
xvfb=$!
trap 'kill $xvfb 2>/dev/null || true' EXIT
for _ in $(seq 50); do xdpyinfo -display "$display" >/dev/null 2>&1 && break; sleep 0.1; done
DISPLAY="$display" python scripts/screenshot.py "$out" "$@"
