#!/usr/bin/env bash
# A venv of its own under build/ for reference packages that must not touch the main environment:
#   scripts/side_venv.sh NAME "PACKAGES" [PIP FLAGS...]
# It sees the main environment's packages (--system-site-packages) and installs PACKAGES on top, then those
# in $NO_DEPS without their dependencies (for a package whose declared ones are far more than it needs). A
# stamp named after both lists makes a second run return at once; a changed list rebuilds the venv.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="build/$1"
packages="$2"
shift 2
no_deps="${NO_DEPS:-}"
stamp="$venv/.installed-$(echo "$packages|$no_deps" | sha1sum | cut -c1-12)"
[ -f "$stamp" ] && exit 0
rm -rf "$venv"
python -m venv --system-site-packages "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check "$@" $packages
if [ -n "$no_deps" ]; then
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps "$@" $no_deps
fi
touch "$stamp"
