#!/usr/bin/env bash
# examples/compose end to end: run.sh builds the images offline from Debian's nginx-light,
# redis-server and busybox, brings the three-service stack up on a private dockerd with
# Debian's docker-compose (its labels, its internal network), replays scenario.yaml (a
# DNS fault on web, a bandwidth cap on api, addressed by compose service labels; probes
# from web), and takes it down with docker-compose: the run
# passes with impact, TTD and TTR measured, nginx -> api -> redis served every page,
# and no container, network or br- link of its engine is left.
set -u
. "$(dirname "$0")/lib/skip.sh"
. "$(dirname "$0")/lib/dockerd.sh"
B=${ASH_BUILD_DIR:?}
SRC=${ASH_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
why=$(dockerd_lacks) && ash_skip_all "$why"
for p in /usr/sbin/nginx /usr/bin/redis-server; do
  [ -x "$p" ] || ash_skip_all "no $p (scripts/install-deps.sh --test installs nginx-light and redis-server)"
done
# The stack is brought up as a user would: Debian 12's docker-compose (compose v1,
# 1.29, Python), against the private engine through DOCKER_HOST.
command -v docker-compose >/dev/null ||
  ash_skip_all "no docker-compose (scripts/install-deps.sh --test installs Debian's docker-compose)"
T=$(mktemp -d /tmp/ash-ex-XXXXXX)
trap 'rm -rf "$T"' EXIT
fail=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
links_before=$(ip -o link show | grep -c ' br-')
ASH_COMPOSE=docker-compose "$SRC/examples/compose/run.sh" "$B/aftershock" "$T/reports" >"$T/out" 2>&1; st=$?
check "run.sh exits 0" '[ $st = 0 ]'
check "images.sh built the images into run.sh's engine" 'grep -q "^images.sh: ashdemo-nginx, ashdemo-api and ashdemo-redis imported into unix://" "$T/out"'
out=$(DOCKER_HOST=unix://$T/no-such.sock "$SRC/examples/compose/images.sh" 2>&1); ist=$?
check "images.sh without an engine at DOCKER_HOST: exit 2 saying where it looked (exit $ist): $out" \
  '[ $ist = 2 ] && echo "$out" | grep -q "no Docker engine at $T/no-such.sock"'
[ $st = 0 ] || tail -20 "$T/out"
up=$(grep "^run.sh: stack up" "$T/out")
check "docker-compose brought the three services up, on compose's internal network ($up)" \
  'echo "$up" | grep -q "^run.sh: stack up with docker-compose " &&
   echo "$up" | grep -Eq "ashdemo[-_]api[-_]1 ashdemo[-_]cache[-_]1 ashdemo[-_]web[-_]1 +on ashdemo_back internal=true"'
check "docker-compose took the stack down" 'grep -q "^run.sh: stack down with docker-compose" "$T/out"'

rep=$(ls -d "$T"/reports/*/ 2>/dev/null | head -1)report.json
summary=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["runs"][0]
print(r["verdict"], r.get("impact_ms") is not None, r.get("detected_by"), r.get("ttr_ms") is not None)' "$rep" 2>&1)
check "the replay measured impact, detection and recovery ($summary)" '[ "$summary" = "pass True users-notice True" ]'
# The stack is the real programs: nginx served the api's page, which redis counted,
# throughout (the faults hit web's lookups of api, not nginx's upstream resolved at start).
hits=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["runs"][0]
p=[x for x in r["probes"] if x["name"] == "hits-through-nginx"][0]; print(p["samples"], p["failures"])' "$rep" 2>&1)
check "nginx -> api -> redis answered every sample of hits-through-nginx (samples failures: $hits)" \
  '[ "${hits% *}" -gt 10 ] 2>/dev/null && [ "${hits#* }" = 0 ]'
check "no br- link of the example's engine left" '[ "$(ip -o link show | grep -c " br-")" -le "$links_before" ]'
ash_exit $fail
