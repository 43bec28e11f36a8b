#!/usr/bin/env bash
# The ecosystem's readers (Datumaro, TrackEval, labelme, Label Studio's converter) in their own venv, build/readers-venv,
# and X-AnyLabeling's in build/x-anylabeling-venv, for
# tests/test_readers.py. They pull packages (pandas, PyQt5, another OpenCV) that must not replace this
# project's own, so the venv sees the main environment's packages but installs its own on top.
# A second run returns at once. Without network the tests that need it skip with this script's name.
set -euo pipefail
bash "$(dirname "$0")/side_venv.sh" readers-venv "datumaro==1.13.0 trackeval==1.3.0 labelme==6.3.1 label-studio-converter==0.0.59"
# X-AnyLabeling's own label files and converters, apart (PyQt6 beside labelme's PyQt5): its package declares
# its model runtimes (onnxruntime, ...) as dependencies; these are the ones its label code imports
NO_DEPS="x-anylabeling-cvhub==4.2.1" exec bash "$(dirname "$0")/side_venv.sh" x-anylabeling-venv \
  "PyQt6==6.9.1 termcolor natsort importlib_metadata markdown openai jsonlines json_repair qimage2ndarray"
