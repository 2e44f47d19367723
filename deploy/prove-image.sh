#!/usr/bin/env bash
# Proves the image that build-offline.sh made, where `podman run` is refused (this sandbox does
# not permit the setrlimit calls of crun and runc): a container is created (not started), its
# root filesystem mounted, /proc and /dev bound into it, and the image's own entry point run by
# chroot with the image's environment and working directory:
#   1. `dsanet info`;
#   2. the README's quick start, `dsanet deblur --regions auto` on the bundled sample;
#   3. `dsanet serve --help`, against which deploy/check-compose.mjs checks every flag that
#      deploy/compose.yaml gives dsanet.
# Everything is unmounted and the container removed afterwards, also on failure.
# Where `podman run` works, the same is: podman run --rm dsanet-stream:local info (and deblur ...).
#
#   sudo deploy/prove-image.sh        # log: $WORK/prove.log
set -euo pipefail
cd "$(dirname "$0")/.."

tag=${TAG:-dsanet-stream:local}
work=${WORK:-/var/tmp/dsanet-build}
mkdir -p "$work"
log="$work/prove.log"
: >"$log"

ctr=$(podman create "$tag")
mnt=
cleanup() {
  local rc=$?
  if [[ -n $mnt ]]; then
    mountpoint -q "$mnt/dev" && umount "$mnt/dev"
    mountpoint -q "$mnt/proc" && umount "$mnt/proc"
  fi
  podman umount "$ctr" >/dev/null || true
  podman rm -f "$ctr" >/dev/null || true
  exit "$rc"
}
trap cleanup EXIT
mnt=$(podman mount "$ctr")
mount -t proc proc "$mnt/proc"
mount --bind /dev "$mnt/dev" # not recursive: nothing under the host's /dev is unmounted with it

# The image's configuration: what `podman run` would use.
workdir=$(podman image inspect --format '{{.Config.WorkingDir}}' "$tag")
mapfile -t env < <(podman image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$tag" | sed '/^$/d')
read -r -a entrypoint <<<"$(podman image inspect --format '{{range .Config.Entrypoint}}{{.}} {{end}}' "$tag")"

inside() { # the entry point with these arguments, as `podman run IMAGE ARGS...`
  chroot "$mnt" /usr/bin/env -i "${env[@]}" HOME=/root /bin/sh -c 'cd "$0" && exec "$@"' "$workdir" "${entrypoint[@]}" "$@"
}

step() { printf '\n$ %s\n' "$*" | tee -a "$log"; }

step "dsanet info"
inside info 2>&1 | tee -a "$log"

step "dsanet deblur --regions auto   (the README's quick start, npm run demo)"
start=$SECONDS
inside deblur --regions auto 2>&1 | tee -a "$log"
echo "(${workdir}/out: $(ls -l "$mnt$workdir/out" | tail -n +2 | awk '{print $5, $9}'); $((SECONDS - start)) s)" | tee -a "$log"

step "dsanet serve --help"
inside serve --help >"$work/serve-help.txt" 2>&1
wc -l <"$work/serve-help.txt" | sed 's/$/ lines/' | tee -a "$log"

step "node deploy/check-compose.mjs $work/serve-help.txt"
node deploy/check-compose.mjs "$work/serve-help.txt" 2>&1 | tee -a "$log"
