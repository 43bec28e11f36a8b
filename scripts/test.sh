#!/usr/bin/env bash
# Install what the tests need and is missing (CPU torch, the official sam2 reference, this package with its
# test extras, sample media, the ecosystem's readers in build/readers-venv, the official EdgeTAM in build/edgetam-venv), check lint and format with ruff, then run pytest with any arguments given (e.g. -m "not slow", the fast subset).
# A second run skips every install step and starts testing within seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
pip_install() { python -m pip install -q --disable-pip-version-check "$@"; }

if ! python -c "import torch" 2>/dev/null; then
  # the CPU build: PyPI's default Linux wheel is a multi-GB CUDA build
  pip_install --timeout 20 --retries 0 torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
    || pip_install torch==2.13.0
fi
python -c "import hydra, iopath" 2>/dev/null || pip_install hydra-core iopath
if ! python -c "import sam2.build_sam" 2>/dev/null; then
  SAM2_BUILD_CUDA=0 pip_install --no-build-isolation --no-deps sam2==1.1.0
fi
stamp="build/.test-deps-$(python -c 'import hashlib; print(hashlib.sha1(open("pyproject.toml", "rb").read()).hexdigest()[:12])')"
if [ ! -f "$stamp" ] || ! python -c "import anymask, sys; sys.exit(not anymask.__file__.startswith('$PWD/src/'))" 2>/dev/null; then
  pip_install -e ".[test]"
  mkdir -p build && rm -f build/.test-deps-* && touch "$stamp"
fi
bash scripts/fetch_test_media.sh >/dev/null
bash scripts/readers_venv.sh || echo "scripts/readers_venv.sh failed (offline?): tests/test_readers.py will skip" >&2
bash scripts/edgetam_venv.sh || echo "scripts/edgetam_venv.sh failed (offline?): EdgeTAM parity tests will skip" >&2
ruff check .  # lint (pyproject.toml [tool.ruff]); a failure stops the run (set -e)
ruff format --check . >/dev/null
# pytest-xdist: one worker per core (at most 4); tests/conftest.py gives each its share of torch threads. On
# 2 cores this takes the suite from 16 to 13 minutes (Zen 5 held to AVX2; 16.0-18.3 on a real AVX2-only
# Zen 3). An -n given here wins (-n 0: no workers).
# --dist loadgroup keeps a module marked xdist_group on one worker, so its costly module fixtures run once.
workers=$(python -c "import os; print(min(4, os.cpu_count() or 1))")
python -m pytest -q -n "$workers" --dist loadgroup "$@"
