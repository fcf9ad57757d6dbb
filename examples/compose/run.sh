#!/usr/bin/env bash
# Bring up examples/compose on a PRIVATE Docker engine (its own socket and data
# under a temp dir, --iptables=false, an --internal network: nothing else on the
# machine is touched), replay scenario.yaml against it by compose service labels,
# and take everything down. The stack is real programs from Debian packages: nginx
# (nginx-light) in front of a busybox httpd api that counts visits in redis
# (redis-server). Their images are built offline from the installed packages: each
# program, the libraries ldd lists, busybox and the files in conf/, `docker
# import`ed (nothing is pulled). Needs root, dockerd + docker (docker.io),
# busybox-static, nginx-light and redis-server (their packaged services need not
# run). docker-compose (Debian's package) is used when installed; otherwise the
# same containers are made with the labels compose gives them (ASH_COMPOSE below).
# Usage: run.sh [AFTERSHOCK [REPORT_DIR]]; exit status: aftershock run's.
set -u
here=$(cd "$(dirname "$0")" && pwd)
ASH=${1:-aftershock}
REPORTS=${2:-$PWD/reports}
. "$here/../../tests/integration/lib/dockerd.sh"
if why=$(dockerd_lacks); then echo "run.sh: cannot run here: $why" >&2; exit 77; fi
T=$(mktemp -d /tmp/ash-compose-XXXXXX)
trap 'dockerd_stop; rm -rf "$T"' EXIT
dockerd_start "$T/d" >"$T/why" || { cat "$T/why" >&2; exit 1; }
for p in /usr/sbin/nginx /usr/bin/redis-server; do
  [ -x "$p" ] || { echo "run.sh: cannot run here: no $p (apt-get install nginx-light redis-server)" >&2; exit 77; }
done
DOCKER_HOST=$DOCKER_HOST_URL "$here/images.sh" || exit 1
export DOCKER_HOST=$DOCKER_HOST_URL
# ASH_COMPOSE: auto (docker-compose when installed: Debian 12's package is compose v1,
# 1.29; a `docker compose` v2 plugin otherwise), docker-compose, or none (the same
# containers made by hand). The project is named on the command line (-p), not in the
# file: compose v1 does not know a top-level `name:`.
mode=${ASH_COMPOSE:-auto}
compose=() tool=
if [ "$mode" = auto ] || [ "$mode" = docker-compose ]; then
  if command -v docker-compose >/dev/null; then
    compose=(docker-compose -p ashdemo -f "$here/compose.yaml") tool=docker-compose
  elif [ "$mode" = auto ] && docker compose version >/dev/null 2>&1; then
    compose=(docker compose -p ashdemo -f "$here/compose.yaml") tool="docker compose"
  elif [ "$mode" = docker-compose ]; then
    echo "run.sh: cannot run here: ASH_COMPOSE=docker-compose, but it is not installed (apt-get install docker-compose)" >&2
    exit 77
  fi
fi
if [ ${#compose[@]} -gt 0 ]; then
  # The images are local (imported above): compose has nothing to pull or build.
  "${compose[@]}" up -d --no-build >"$T/compose.log" 2>&1 || { cat "$T/compose.log" >&2; exit 1; }
  echo "run.sh: stack up with $tool ($("${compose[@]}" version --short 2>/dev/null || echo ?)):" \
    "$(dk ps --filter label=com.docker.compose.project=ashdemo --format '{{.Names}}' | sort | tr '\n' ' ')" \
    "on $(dk network ls --filter label=com.docker.compose.project=ashdemo --format '{{.Name}}' |
      xargs -r docker -H "$DOCKER_HOST" network inspect -f '{{.Name}} internal={{.Internal}}')" >&2
else
  # What compose would make: a project network and one container per service,
  # carrying compose's labels (the scenario selects by com.docker.compose.service).
  dk network create --internal --label com.docker.compose.project=ashdemo \
    --label com.docker.compose.network=back ashdemo_back >/dev/null || exit 1
  for svc in cache api web; do # in compose's depends_on order: nginx resolves api as it starts
    read -r image cmd < <(python3 -c 'import sys,yaml; s=yaml.safe_load(open(sys.argv[1]))["services"][sys.argv[2]]
print(s["image"], s["command"][2])' "$here/compose.yaml" "$svc") || exit 1
    dk run -d --name "ashdemo-$svc-1" --network ashdemo_back --network-alias "$svc" \
      --label com.docker.compose.project=ashdemo --label com.docker.compose.service="$svc" \
      --label com.docker.compose.container-number=1 "$image" sh -c "$cmd" >/dev/null || exit 1
  done
  echo "run.sh: stack up without compose (ASH_COMPOSE=$mode): the same containers, compose's labels" >&2
fi
"$ASH" run --report-dir "$REPORTS" --state-dir "$T/state" "$here/scenario.yaml"
st=$?
# Take the stack down as it was brought up (the engine goes after, with its data).
if [ ${#compose[@]} -gt 0 ]; then
  if "${compose[@]}" down --timeout 2 >"$T/compose.log" 2>&1; then
    echo "run.sh: stack down with $tool" >&2
  else
    cat "$T/compose.log" >&2
  fi
fi
exit $st
