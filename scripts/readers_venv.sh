#!/usr/bin/env bash
# The ecosystem's readers (Datumaro, TrackEval, labelme, Label Studio's converter) in their own venv, build/readers-venv, for
# tests/test_readers.py. They pull packages (pandas, PyQt5, another OpenCV) that must not replace this
# project's own, so the venv sees the main environment's packages but installs its own on top.
# A second run returns at once. Without network the tests that need it skip with this script's name.
set -euo pipefail
exec bash "$(dirname "$0")/side_venv.sh" readers-venv "datumaro==1.13.0 trackeval==1.3.0 labelme==6.3.1 label-studio-converter==0.0.59"
