#!/usr/bin/env bash
# Install everything the tests need (CPU torch, the official sam2 reference, sample media) and run them.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q --disable-pip-version-check torch==2.13.0
python -m pip install -q --disable-pip-version-check hydra-core iopath
SAM2_BUILD_CUDA=0 python -m pip install -q --disable-pip-version-check --no-build-isolation --no-deps sam2==1.1.0
python -m pip install -q --disable-pip-version-check -e ".[test]"
bash scripts/fetch_test_media.sh >/dev/null
python -m pytest -q "$@"
