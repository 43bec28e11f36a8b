#!/usr/bin/env bash
# The prepared GPU check of issue 16 (fixed-shape tracking, CUDA graphs, against the official predictor), in two
# halves, so that a session lent a GPU spends its few minutes measuring, not setting up:
#   scripts/gpu_check.sh prepare   here, after ./scripts/test.sh has installed the official sam2: 40 JPEG frames
#                                  of vtest.avi and the official package with its pure-Python needs (hydra,
#                                  omegaconf, antlr4, iopath) into .gpu/, which git ignores
#   scripts/gpu_check.sh run       on the GPU machine, with .gpu carried: correctness of the graphed and compiled
#                                  steps (benchmarks/cuda_steps.py), then the objects table (benchmarks/objects.py),
#                                  the most important rows first; each part has a time limit, the whole run stays
#                                  under 9.5 minutes, and every table is also written to $OUT (or build/gpu-check)
# With the device tool: run(command="bash scripts/gpu_check.sh run", carry=[".gpu"], timeout_s=600); the tables come
# back as $OUT/steps.md and $OUT/objects.md, and go into docs/performance.md and the issue note.
set -euo pipefail
cd "$(dirname "$0")/.."

prepare() {
  rm -rf .gpu && mkdir -p .gpu/site-packages
  (cd benchmarks && python -c "from pathlib import Path; from objects import extract_frames
extract_frames(Path('../.gpu/frames'), 40)")
  site=$(python -c "import os, sam2; print(os.path.dirname(os.path.dirname(sam2.__file__)))")
  for package in sam2 hydra omegaconf antlr4 iopath; do
    cp -r "$site/$package" .gpu/site-packages/
  done
  find .gpu -name __pycache__ -prune -exec rm -rf {} +
  # anymask.media imports PyAV, which the GPU image lacks; these checks read JPEG folders only
  mkdir -p .gpu/site-packages/av && echo '"""Stand-in for PyAV on the GPU machine: JPEG folders only."""' >.gpu/site-packages/av/__init__.py
  du -sh .gpu
}

run() {
  local out=${OUT:-build/gpu-check}
  mkdir -p "$out"
  export PYTHONPATH="$PWD/src:$PWD/.gpu/site-packages" PYTHONUNBUFFERED=1
  nvidia-smi -L || true
  python -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())"
  local objects=(python benchmarks/objects.py --device cuda --precision bf16 --frames-dir .gpu/frames --frames 30)
  # 1. the padded and compiled steps equal eager on the GPU (fp32 logits, bf16 masks); compiled rows come last
  timeout 120 python benchmarks/cuda_steps.py .gpu/frames --frames 10 2>&1 | tee "$out/steps.md" || true
  # 2. eager against graphed and the official eager predictor, 1 and 16 objects, tiny then large
  for variant in sam2.1-tiny sam2.1-large; do
    timeout 130 "${objects[@]}" --variants "$variant" --objects 1 16 --ways together graphed official --timeout 30 \
      2>&1 | tee -a "$out/objects.md" || true
  done
  timeout 40 "${objects[@]}" --variants sam2.1-tiny --objects 4 --ways together graphed --timeout 18 2>&1 \
    | tee -a "$out/objects.md" || true
  # 3. compiled: ours (step and image encoder) and the official vos_optimized predictor, one object
  timeout 130 "${objects[@]}" --variants sam2.1-tiny --objects 1 --ways compiled official-vos --timeout 62 2>&1 \
    | tee -a "$out/objects.md" || true
}

case "${1:-}" in
prepare) prepare ;;
run) run ;;
*) echo "usage: scripts/gpu_check.sh prepare|run" >&2; exit 2 ;;
esac
