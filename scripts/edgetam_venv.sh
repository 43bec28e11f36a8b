#!/usr/bin/env bash
# The official EdgeTAM code (PyPI edgetam-dimos) in its own venv, build/edgetam-venv, for
# tests/test_edgetam_parity.py. It installs a top-level module named `sam2` that would shadow the official
# SAM 2 reference, so it lives apart; the venv sees the main environment's torch, hydra and iopath.
# timm (its RepViT backbone) is installed without dependencies: the tests give it a torchvision stand-in
# (PyPI torchvision does not import beside the CPU torch) and force its pretrained download off.
# A second run returns at once. Without network the parity tests skip with this script's name.
set -euo pipefail
exec bash "$(dirname "$0")/side_venv.sh" edgetam-venv "edgetam-dimos==1.0.1 timm==1.0.31" --no-deps
