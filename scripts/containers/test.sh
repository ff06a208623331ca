#!/usr/bin/env bash
# npm run test:containers: the compose stack built and run for real (test/containers/scenario.ts).
# Makes sure a Docker engine answers (as root: installs docker.io, docker-compose and debootstrap
# with apt-get when absent, and starts dockerd when none runs; a dockerd started here is stopped
# at the end), prepares stand-ins for base images that cannot be pulled
# (scripts/containers/prepare-bases.sh), then runs the scenario, whose JSON line is printed last.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
log() { echo "test:containers: $*" >&2; }
die() { log "FAILED: $*"; exit 1; }
started_at=$(date +%s)

as_root() { [[ $(id -u) == 0 ]] || die "$1 needs root (or run with a Docker engine and the tools already present)"; }
missing=()
if ! docker info >/dev/null 2>&1 && ! command -v dockerd >/dev/null; then missing+=(docker.io); fi
if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null; then missing+=(docker-compose); fi
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [[ ${#missing[@]} -gt 0 ]]; then
  as_root "installing ${missing[*]}"
  log "installing ${missing[*]} with apt-get"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >/tmp/tfleet-ct-apt.log 2>&1 \
    || { tail -15 /tmp/tfleet-ct-apt.log >&2; die "apt-get install ${missing[*]} failed (above)"; }
fi

dockerd_pid=""
stop_dockerd() {
  if [[ -n "$dockerd_pid" ]]; then
    log "stopping the dockerd started here (pid $dockerd_pid)"
    kill "$dockerd_pid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 1; done
  fi
}
trap stop_dockerd EXIT
if ! docker info >/dev/null 2>&1; then
  as_root "starting dockerd"
  command -v dockerd >/dev/null || die "no dockerd (apt-get install docker.io)"
  log "starting dockerd (log: /var/log/tfleet-ct-dockerd.log)"
  setsid dockerd >/var/log/tfleet-ct-dockerd.log 2>&1 </dev/null &
  dockerd_pid=$!
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 1; done
  docker info >/dev/null 2>&1 || { tail -15 /var/log/tfleet-ct-dockerd.log >&2; die "dockerd did not answer within 60 s (log above)"; }
fi

scripts/containers/prepare-bases.sh || die "preparing the base images failed (above)"

if [[ ! -f dist/test/containers/scenario.js || test/containers/scenario.ts -nt dist/test/containers/scenario.js ]]; then
  log "compiling (npm run build)"
  npm run build >/tmp/tfleet-ct-build.log 2>&1 || { tail -20 /tmp/tfleet-ct-build.log >&2; die "npm run build failed (above)"; }
fi

# The scenario prints only its JSON line on stdout: held back until dockerd is stopped, so it is the last line.
set +e
result="$(TFLEET_CT_SETUP_S=$(( $(date +%s) - started_at )) node dist/test/containers/scenario.js)"
code=$?
set -e
stop_dockerd
trap - EXIT
printf '%s\n' "$result"
exit "$code"
