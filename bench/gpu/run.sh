#!/usr/bin/env bash
# gpu.bench.ts on a lent GPU machine, which has no node: what it needs travels in .gpu/ (git-ignored).
#
#   bench/gpu/run.sh pack     here: build the bench, pack node, a pruned node_modules (onnxruntime-node's
#                             linux x64 binaries only) and the Vulkan loader's debs into .gpu/
#   bench/gpu/run.sh device   there, as the device tool's command, with carry [".gpu/dist", ".gpu/node.xz",
#                             ".gpu/node_modules.tar.xz", ".gpu/gl"] (not all of .gpu: the training photos
#                             may be in .gpu/photos): unpack, measure, the table into $OUT/gpu-bench.md
#   bench/gpu/run.sh dry      here: pack, then the device steps from a copy outside the checkout (so a
#                             package left out of the pruned node_modules fails here, not on a loan),
#                             on this machine's Vulkan (lavapipe), at a tiny size
#
# Extra arguments go to gpu.bench.ts (e.g. --sizes 1280x720 --models full).
set -euo pipefail
cd "$(dirname "$0")/../.."
mode=${1:-}
shift || true

# What the bench imports at run time, besides node's own modules.
packages=(onnxruntime-node onnxruntime-common yaml zod)

pack() {
  rm -rf .gpu/dist .gpu/node_modules
  mkdir -p .gpu/gl /tmp/amd64/partial
  npx tsc -p bench/gpu/tsconfig.json
  if [[ ! -f .gpu/node.xz ]]; then xz -T0 -6 -c "$(command -v node)" >.gpu/node.xz.tmp && mv .gpu/node.xz.tmp .gpu/node.xz; fi
  local staging
  staging=$(mktemp -d)
  for p in "${packages[@]}"; do mkdir -p "$staging/node_modules/$p" && cp -a "node_modules/$p/." "$staging/node_modules/$p/"; done
  # onnxruntime-node ships binaries for five platforms (290 MB): keep linux x64's.
  find "$staging/node_modules/onnxruntime-node/bin/napi-v6" -mindepth 2 -maxdepth 2 ! -path '*/linux/x64' -exec rm -rf {} +
  tar -C "$staging" -cf - node_modules | xz -T0 -6 >.gpu/node_modules.tar.xz
  rm -rf "$staging"
  # The Vulkan loader and GL dispatch the NVIDIA driver's ICD needs (the device tool's README).
  if ! ls .gpu/gl/libvulkan1_*.deb >/dev/null 2>&1; then
    local o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
    # shellcheck disable=SC2086
    apt-get $o update -qq && (cd .gpu/gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
  fi
  local tracked travel
  tracked=$(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)
  travel=$((tracked + $(du -cb .gpu/node.xz .gpu/node_modules.tar.xz .gpu/gl .gpu/dist | tail -1 | cut -f1)))
  echo "travels: $((travel / 1048576)) MiB (tracked files $((tracked / 1048576)) MiB + .gpu); the device tool takes 64 MiB at most"
  if ((travel > 64 * 1048576)); then
    echo "too much for a loan: shrink the checkout (its largest files: git ls-files -z | xargs -0 du -b | sort -n | tail) or the pack" >&2
    [[ $mode == dry ]] || exit 1
  fi
}

# Unpacks node and node_modules into $1/.gpu and runs the bench from $1.
measure() {
  local root=$1 out=$2
  shift 2
  mkdir -p /tmp/gpu-node "$out"
  xz -dc "$root/.gpu/node.xz" >/tmp/gpu-node/node && chmod +x /tmp/gpu-node/node
  tar -C "$root/.gpu" -xJf "$root/.gpu/node_modules.tar.xz"
  # The compiled src/ finds models/ two folders up, as in dist/.
  ln -sfn ../../models "$root/.gpu/dist/models"
  (cd "$root" && PATH=/tmp/gpu-node:$PATH node .gpu/dist/bench/gpu/gpu.bench.js --out "$out/gpu-bench.md" "$@")
}

case $mode in
  pack) pack ;;
  device)
    for f in .gpu/gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
    nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    if [[ -z ${VK_DRIVER_FILES:-} && -f $nvidia_icd ]] && ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1; then
      export VK_DRIVER_FILES=$nvidia_icd __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
    fi
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
    measure "$PWD" "${OUT:?run by the device tool, which sets OUT}" "$@"
    ;;
  dry)
    pack
    copy=$(mktemp -d)
    mkdir -p "$copy/.gpu"
    cp -a .gpu/dist .gpu/node.xz .gpu/node_modules.tar.xz "$copy/.gpu/"
    ln -s "$PWD/models" "$copy/models"
    measure "$copy" "${OUT:-$copy/out}" --sizes 96x64 --frames 1 --cpu-frames 1 "$@"
    cat "${OUT:-$copy/out}/gpu-bench.md"
    rm -rf "$copy"
    ;;
  *)
    echo "usage: bench/gpu/run.sh pack|device|dry [gpu.bench.ts arguments]" >&2
    exit 2
    ;;
esac
