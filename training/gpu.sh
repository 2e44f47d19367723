#!/usr/bin/env bash
# Fine-tune on a lent GPU machine (the `device` tool), in one call, from the repository root:
#   training/gpu.sh MINUTES PHOTO_DIR OUT
# PHOTO_DIR holds the training photos copied flat (photos.copied; that machine has no Debian
# packages). Every half minute, and at the end, the latest weights go to OUT in 15 MB parts
# (what such a call can bring back); join them with `cat OUT/model.pt.part-* > model.pt`.
set -uo pipefail
minutes=$1 photos=$2 out=$3
cd "$(dirname "$0")"
nvidia-smi -L || true
weights=runs/dsanet-gpu/model.pt
ship() { [ -f $weights ] && cp $weights /tmp/model.pt && rm -f "$out"/model.pt.part-* && split -b 15M /tmp/model.pt "$out"/model.pt.part-; }
PYTHONUNBUFFERED=1 ${PYTHON:-python3} train.py --config experiments/dsanet-gpu.yaml --init ../models/dsanet.pt \
  --workers $(( $(nproc) > 2 ? $(nproc) - 2 : 1 )) --reuse 6 --photo-dir "$photos" --minutes "$minutes" > "$out"/train.log 2>&1 &
trainer=$!
while kill -0 $trainer 2>/dev/null; do sleep 30; ship; done
wait $trainer; status=$?
ship; cp runs/dsanet-gpu/log.csv "$out"/
tail -5 "$out"/train.log
exit $status
