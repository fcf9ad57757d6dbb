#!/usr/bin/env bash
# Install what aftershock needs to build and run on Debian 12 (as root).
# --test also installs what the test suite needs (clang, PostgreSQL, validators).
set -euo pipefail
want_test=0
[ "${1:-}" = "--test" ] && want_test=1

pkgs=(build-essential cmake pkg-config check libseccomp-dev libnl-3-dev libnl-route-3-dev
      libyaml-dev libcurl4-openssl-dev libjansson-dev libmicrohttpd-dev libsqlite3-dev libpq-dev
      libnftables-dev libmnl-dev libldns-dev)
if [ "$want_test" = 1 ]; then
  pkgs+=(clang clang-format git libxml2-utils python3 python3-jsonschema python3-yaml postgresql iproute2 nftables procps curl sqlite3
         dnsmasq-base # bench/bench_dns: the reference resolver (the binary only, no system service)
         strace       # bench/bench_syscall: strace's own fault injection, the reference
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
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
