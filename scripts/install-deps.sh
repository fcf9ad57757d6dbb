#!/usr/bin/env bash
# Install what aftershock needs to build and run on Debian 12 (as root).
# --test also installs what the test suite needs (clang, PostgreSQL, validators).
set -euo pipefail
want_test=0
[ "${1:-}" = "--test" ] && want_test=1

pkgs=(build-essential cmake pkg-config check libseccomp-dev libnl-3-dev libnl-route-3-dev
      libyaml-dev libcurl4-openssl-dev libjansson-dev libmicrohttpd-dev libsqlite3-dev libpq-dev
      libnftables-dev libnftnl-dev libmnl-dev libldns-dev # libnftnl: a fault's nftables table as one netlink batch (src/sys/nft_rules.c)
      libgnutls28-dev # the fleet channel: TLS 1.3 with a pre-shared key (src/fleet/channel.c)
      libncurses-dev) # the live view (run --live)
if [ "$want_test" = 1 ]; then
  pkgs+=(clang clang-format git libxml2-utils python3 python3-jsonschema python3-yaml postgresql iproute2 nftables procps curl sqlite3
         dnsmasq-base # bench/bench_dns: the reference resolver (the binary only, no system service)
         strace       # bench/bench_syscall: strace's own fault injection, the reference
         # tests/integration/prometheus_stack.sh: detection from a real monitoring stack
         # (the test starts each on its own ports; policy-rc.d keeps their services down)
         # (prometheus also ships promtool: tests/integration/metrics.sh checks --metrics with it)
         prometheus prometheus-alertmanager prometheus-blackbox-exporter
         docker.io busybox-static # targets_container*.sh, fleet_swarm.sh: private dockerds (a swarm), offline images
         nginx-light redis-server # examples/compose (example_compose.sh): their binaries in images built offline
         docker-compose # example_compose.sh: compose v1 (1.29) brings the example stack up on the private dockerd
         podman # tests/integration/targets_podman.sh: a private rootful podman behind its Docker-compatible socket
         containerd   # tests/integration/targets_pod.sh: a private containerd (its k8s.io namespace), with runc
         python3-kubernetes # tests/integration/kube_manifests.sh: the API types the manifests are checked against
         chromium)    # tests/integration/report_browser.sh: reports checked in a real browser
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing packages (${missing[*]}); run as root" >&2
    exit 3
  fi
  export DEBIAN_FRONTEND=noninteractive
  # The test suite starts its own PostgreSQL, dockerd, Prometheus and
  # Alertmanager on private sockets and ports; the packages' own services must
  # not start when they are installed (they would hold those ports, and a
  # system dockerd would touch the host's iptables). A policy-rc.d that says
  # 101 ("action forbidden") stops invoke-rc.d and deb-systemd-invoke from
  # starting them; one already there (containers ship one) is left as it is.
  policy=/usr/sbin/policy-rc.d made_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# aftershock install-deps: no service starts during this install\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    made_policy=1
    trap '[ "$made_policy" = 1 ] && rm -f "$policy"' EXIT
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
