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
# run). docker-compose is used when installed; otherwise the same containers are
# made with the labels compose gives them. Usage: run.sh [AFTERSHOCK [REPORT_DIR]];
# exit status: aftershock run's.
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
dockerd_image_with ashdemo-nginx /usr/sbin/nginx "$here/conf/nginx.conf:/etc/nginx/nginx.conf" >"$T/why" &&
  dockerd_image_with ashdemo-redis /usr/bin/redis-server "$here/conf/redis.conf:/etc/redis.conf" >"$T/why" &&
  dockerd_image_with ashdemo-api - "$here/conf/hits.cgi:/etc/hits.cgi" >"$T/why" ||
  { echo "run.sh: cannot build the images: $(cat "$T/why")" >&2; exit 1; }
export DOCKER_HOST=$DOCKER_HOST_URL
if command -v docker-compose >/dev/null; then
  docker-compose -f "$here/compose.yaml" up -d >/dev/null || exit 1
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
fi
"$ASH" run --report-dir "$REPORTS" --state-dir "$T/state" "$here/scenario.yaml"
