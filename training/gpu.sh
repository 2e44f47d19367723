#!/usr/bin/env bash
# Train on a lent GPU machine (the `device` tool), in one call, from the repository root:
#   training/gpu.sh CONFIG MINUTES PHOTO_DIR OUT [train.py options, e.g. --init ../models/dsanet.pt]
#   training/gpu.sh experiments/dsanet-gpu.yaml 8 ../.gpu/photos "$OUT" --init ../models/dsanet.pt
#   training/gpu.sh experiments/dsanet-lite-gpu.yaml 8 ../.gpu/photos "$OUT" --reuse 12
# PHOTO_DIR holds the training photos copied flat (photos.copied; that machine has no Debian
# packages). Every half minute, and at the end, the latest weights go to OUT in 15 MB parts
# (what such a call can bring back); join them with `cat OUT/model.pt.part-* > model.pt`.
set -uo pipefail
config=$1 minutes=$2 photos=$3 out=$4
shift 4
cd "$(dirname "$0")"
nvidia-smi -L || true
run=runs/$(sed -n 's/^name: *//p' "$config")
ship() { [ -f $run/model.pt ] && cp $run/model.pt /tmp/model.pt && rm -f "$out"/model.pt.part-* && split -b 15M /tmp/model.pt "$out"/model.pt.part-; }
PYTHONUNBUFFERED=1 ${PYTHON:-python3} train.py --config "$config" --workers $(( $(nproc) > 2 ? $(nproc) - 2 : 1 )) --reuse 6 \
  --photo-dir "$photos" --minutes "$minutes" "$@" > "$out"/train.log 2>&1 &
trainer=$!
while kill -0 $trainer 2>/dev/null; do sleep 30; ship; done
wait $trainer; status=$?
ship; cp $run/log.csv "$out"/
tail -5 "$out"/train.log
exit $status
