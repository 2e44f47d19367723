#!/usr/bin/env bash
# A whole GPU loan in one call (the `device` tool), from the repository root: train, score both
# held-out splits on the GPU, export ONNX, and bring weights, logs and scores back in $OUT
# within the tool's file limits. See training/loan.py for plans and options; for example
#   bash training/gpu.sh training/experiments/loan-recipes.yaml --photo-dir .gpu/photos --out "$OUT"
#   bash training/gpu.sh training/experiments/dsanet-gpu.yaml --minutes 8 --photo-dir .gpu/photos --out "$OUT" --init models/dsanet.onnx
# with the photos copied flat into .gpu/photos (python3 training/photos.py .gpu/photos) and
# .gpu carried. --dry-run runs the same path on the CPU in seconds (training/test_loan.py).
set -euo pipefail
command -v nvidia-smi >/dev/null && nvidia-smi -L
exec "${PYTHON:-python3}" "$(dirname "$0")/loan.py" "$@"
