#!/usr/bin/env bash
# Static int8 (QDQ) quantisation of an exported DSANet graph, measured: speed against the fp32
# graph in onnxruntime-node, and held-out PSNR of both. Debian has no onnxruntime for Python,
# so onnxruntime-node runs the graphs (calibration and evaluation) and python3-onnx writes them.
#   training/int8/run.sh [FLOAT_GRAPH] [WORK]
# FLOAT_GRAPH: a graph of the network alone (export.py --float); by default DSANet-Lite's,
# exported into WORK from models/dsanet-lite.onnx (the shipped graphs take and give bytes).
# Result on a 2-core EPYC (AVX2), DSANet-Lite: no faster (92.4 against 92.2 ms median at
# 640x368) and 0.14-0.15 dB lower on both held-out splits: it does not pay there (weights then
# went up to 127, which AVX2's 16-bit sums overflow: qdq.py). On a 2-core Xeon with VNNI and
# AMX (2026-12-06), DSANet 1.42x faster within 0.01 dB, Lite no faster; on an AVX2 EPYC
# (2026-12-07), DSANet with weights within 63 1.31-1.36x (docs/benchmarks.md, int8 quantisation).
#
#   training/int8/run.sh --ship [WORK]
# makes models/dsanet-int8.onnx (`--precision int8`) from models/dsanet.onnx: the shipped graph
# itself, RGB24 bytes in and out, its convolutions quantized the same way. Calibration reads
# the first shard of a cache of 3-frame clips (training/runs/cache/); where there is none,
# `python3 training/cache.py --config training/experiments/dsanet-harmless-clips.yaml --clips 64`
# makes one in half a minute.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "${1:-}" = --ship ]; then
  work=${2:-/tmp/dsanet-int8-ship}
  mkdir -p "$work"
  /usr/bin/python3 training/int8/dump_frames.py "$work"
  /usr/bin/python3 training/int8/qdq.py augment models/dsanet.onnx "$work/augmented.onnx"
  node training/int8/calibrate.mjs "$work"
  /usr/bin/python3 training/int8/qdq.py quantize models/dsanet.onnx "$work/dsanet-int8.onnx" "$work/ranges.json"
  mv "$work/dsanet-int8.onnx" models/dsanet-int8.onnx
  exit
fi
work=${2:-/tmp/dsanet-int8}
mkdir -p "$work"
model=${1:-$work/dsanet-lite.onnx}
[ -n "${1:-}" ] || /usr/bin/python3 training/export.py --weights models/dsanet-lite.onnx --name dsanet-lite --float --out "$work"
/usr/bin/python3 training/int8/dump_frames.py "$work"                  # calibration + held-out frames
/usr/bin/python3 training/int8/qdq.py augment "$model" "$work/augmented.onnx"
node training/int8/calibrate.mjs "$work"                               # activation ranges
/usr/bin/python3 training/int8/qdq.py quantize "$model" "$work/int8.onnx" "$work/ranges.json"
node training/int8/compare.mjs "$model" "$work/int8.onnx" "$work"      # PSNR and speed, side by side
