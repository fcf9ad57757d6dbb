#!/usr/bin/env bash
# Build the compose example's three images (ashdemo-nginx, ashdemo-api,
# ashdemo-redis) offline into the Docker engine DOCKER_HOST names (default: the
# system's, unix:///var/run/docker.sock), from the installed packages: each
# program, the libraries ldd lists for it, busybox and the files in conf/,
# `docker import`ed. Nothing is pulled: `docker-compose -p ashdemo up -d` then
# finds them. Needs docker (docker.io), busybox-static, nginx-light and
# redis-server (their packaged services need not run).
# Usage: [DOCKER_HOST=unix:///path/docker.sock] images.sh
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../tests/integration/lib/dockerd.sh"
host=${DOCKER_HOST:-unix:///var/run/docker.sock}
case $host in
  unix://*) DOCKER_SOCK=${host#unix://} ;;
  *) echo "images.sh: DOCKER_HOST=$host: only a unix socket (unix:///...) is supported" >&2; exit 2 ;;
esac
[ -S "$DOCKER_SOCK" ] || { echo "images.sh: no Docker engine at $DOCKER_SOCK (set DOCKER_HOST=unix:///path/to/docker.sock)" >&2; exit 2; }
command -v busybox >/dev/null || { echo "images.sh: no busybox (apt-get install busybox-static)" >&2; exit 2; }
for p in /usr/sbin/nginx /usr/bin/redis-server; do
  [ -x "$p" ] || { echo "images.sh: no $p (apt-get install nginx-light redis-server)" >&2; exit 2; }
done
# dockerd_image_with stages each image's tree under DOCKERD_DIR.
DOCKERD_DIR=$(mktemp -d /tmp/ash-images-XXXXXX)
trap 'rm -rf "$DOCKERD_DIR"' EXIT
dockerd_image_with ashdemo-nginx /usr/sbin/nginx "$here/conf/nginx.conf:/etc/nginx/nginx.conf" >"$DOCKERD_DIR/why" &&
  dockerd_image_with ashdemo-redis /usr/bin/redis-server "$here/conf/redis.conf:/etc/redis.conf" >"$DOCKERD_DIR/why" &&
  dockerd_image_with ashdemo-api - "$here/conf/hits.cgi:/etc/hits.cgi" >"$DOCKERD_DIR/why" ||
  { echo "images.sh: cannot build the images: $(cat "$DOCKERD_DIR/why")" >&2; exit 1; }
echo "images.sh: ashdemo-nginx, ashdemo-api and ashdemo-redis imported into $host" >&2
