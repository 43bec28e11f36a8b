#!/usr/bin/env bash
# A venv of its own under build/ for reference packages that must not touch the main environment:
#   scripts/side_venv.sh NAME "PACKAGES" [PIP FLAGS...]
# It sees the main environment's packages (--system-site-packages) and installs PACKAGES on top. A stamp
# named after the package list makes a second run return at once; a changed list rebuilds the venv.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="build/$1"
packages="$2"
shift 2
stamp="$venv/.installed-$(echo "$packages" | sha1sum | cut -c1-12)"
[ -f "$stamp" ] && exit 0
rm -rf "$venv"
python -m venv --system-site-packages "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check "$@" $packages
touch "$stamp"
