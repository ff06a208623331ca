#!/usr/bin/env bash
# Local stand-ins for the base images that docker-compose.yml and the Dockerfiles name, made
# only when an image is neither present nor pullable (a machine without access to a public
# image registry). With ordinary internet this script pulls and does nothing else.
#
#   node image (FROM of apps/api/Dockerfile): Debian bookworm from
#     `debootstrap --variant=minbase` using the mirror of this machine's apt sources, with this
#     machine's Node.js, npm and Node headers copied to /usr/local and a `node` user (uid 1000),
#     laid out as in the official image.
#   redis image (image: of the compose file's redis service): the same Debian base with Debian's
#     redis-server (it takes the compose file's command and `redis-cli ping` health check).
#
# Stand-ins carry the label org.tfleet.stand-in=true. Needs root, docker and debootstrap.
# Environment: TFLEET_DEBIAN_MIRROR overrides the mirror; TFLEET_FORCE_STAND_INS=1 rebuilds them
# even when the images are present.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
log() { echo "prepare-bases: $*" >&2; }
die() { log "error: $*"; exit 1; }

node_image="$(sed -n 's/^FROM \([^ ]*\) AS build$/\1/p' "$root/apps/api/Dockerfile" | head -1)"
redis_image="$(awk '/^  redis:/{r=1;next} /^  [a-z]/{r=0} r && $1=="image:"{print $2; exit}' "$root/docker-compose.yml")"
[[ "$node_image" == node:*bookworm* ]] || die "apps/api/Dockerfile's build stage is FROM '$node_image', not a node bookworm image"
[[ "$redis_image" == redis:* ]] || die "docker-compose.yml's redis service uses image '$redis_image', not a redis image"
base_image="tfleet-stand-in/debian:bookworm-minbase"

have() { docker image inspect "$1" >/dev/null 2>&1; }
needed=()
for image in "$node_image" "$redis_image"; do
  if [[ "${TFLEET_FORCE_STAND_INS:-0}" != 1 ]]; then
    if have "$image"; then log "$image is present"; continue; fi
    if docker pull -q "$image" >/dev/null 2>&1; then log "$image pulled"; continue; fi
    log "$image can be neither found nor pulled: making a local stand-in"
  fi
  needed+=("$image")
done
[[ ${#needed[@]} -gt 0 ]] || exit 0

[[ $(id -u) == 0 ]] || die "making stand-ins needs root (debootstrap)"
command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
command -v node >/dev/null || die "no node on this machine to copy into the stand-in"

# The Debian mirror this machine's apt uses: deb822 .sources first, then one-line lists.
mirror="${TFLEET_DEBIAN_MIRROR:-}"
if [[ -z "$mirror" ]]; then
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] || continue
    mirror="$(awk 'BEGIN{RS=""} /Suites:[^\n]*bookworm( |\n|$)/ && /URIs:/ {match($0,/URIs: *[^ \n]+/); u=substr($0,RSTART,RLENGTH); sub(/URIs: */,"",u); if (u !~ /security/) {print u; exit}}' "$f")"
    [[ -n "$mirror" ]] && break
  done
fi
if [[ -z "$mirror" ]]; then
  mirror="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '$1=="deb" && $3=="bookworm" {print $2; exit}' || true)"
fi
[[ -n "$mirror" ]] || die "no bookworm mirror in /etc/apt/sources.list*; set TFLEET_DEBIAN_MIRROR"

work="$(mktemp -d /var/tmp/tfleet-stand-ins.XXXXXX)"
trap 'rm -rf "$work"' EXIT

if ! have "$base_image" || [[ "${TFLEET_FORCE_STAND_INS:-0}" == 1 ]]; then
  log "debootstrap --variant=minbase bookworm from $mirror (about 2 minutes)"
  debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; die "debootstrap failed (log above)"; }
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
  tar -C "$work/rootfs" -c . | docker import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'LABEL org.tfleet.stand-in=true' -c 'CMD ["bash"]' - "$base_image" >/dev/null
  rm -rf "$work/rootfs"
  log "tagged $base_image"
fi

for image in "${needed[@]}"; do
  ctx="$work/ctx-${image//[:\/]/_}"
  mkdir -p "$ctx"
  if [[ "$image" == "$node_image" ]]; then
    node_bin="$(command -v node)"
    prefix="$(dirname "$(dirname "$(readlink -f "$node_bin")")")"
    [[ -d "$prefix/lib/node_modules/npm" ]] || die "no npm under $prefix/lib/node_modules"
    [[ -f "$prefix/include/node/node.h" ]] || die "no Node headers under $prefix/include/node"
    node_version="$(node -p 'process.versions.node')"
    [[ "$image" != node:* || "$node_version" == "$(sed -n 's/^node:\([0-9]*\).*/\1/p' <<<"$image")".* ]] \
      || die "this machine's Node.js is $node_version; $image needs the same major version"
    mkdir -p "$ctx/usr/local/bin" "$ctx/usr/local/lib/node_modules" "$ctx/usr/local/include"
    cp "$(readlink -f "$node_bin")" "$ctx/usr/local/bin/node"
    cp -a "$prefix/lib/node_modules/npm" "$ctx/usr/local/lib/node_modules/npm"
    cp -a "$prefix/include/node" "$ctx/usr/local/include/node"
    ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ctx/usr/local/bin/npm"
    ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ctx/usr/local/bin/npx"
    cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $base_image
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
COPY usr /usr
ENV NODE_VERSION=$node_version
LABEL org.tfleet.stand-in=true
CMD ["node"]
DOCKERFILE
  else
    # Like the official image (whose redis-server is built with protected mode off), it takes
    # connections from other containers whatever command the compose file gives it.
    cat >"$ctx/docker-entrypoint.sh" <<'ENTRYPOINT'
#!/bin/sh
if [ "${1#-}" != "$1" ]; then set -- redis-server "$@"; fi
if [ "$1" = redis-server ]; then shift; set -- redis-server --protected-mode no "$@"; fi
exec "$@"
ENTRYPOINT
    chmod +x "$ctx/docker-entrypoint.sh"
    cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $base_image
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server \\
 && rm -rf /var/lib/apt/lists/* && mkdir -p /data
COPY docker-entrypoint.sh /usr/local/bin/
WORKDIR /data
VOLUME /data
EXPOSE 6379
LABEL org.tfleet.stand-in=true
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["redis-server"]
DOCKERFILE
  fi
  DOCKER_BUILDKIT=0 docker build -q -t "$image" "$ctx" >/dev/null 2>"$work/build.log" \
    || { grep -v -i deprecat "$work/build.log" | tail -20 >&2; die "building the stand-in $image failed"; }
  rm -rf "$ctx"
  log "tagged stand-in $image"
done
