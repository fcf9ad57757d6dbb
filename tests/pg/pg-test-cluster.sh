#!/bin/bash
# Start or stop a throw-away PostgreSQL cluster for tests: initdb + pg_ctl as an
# unprivileged user, listening only on a Unix socket in a fresh temp dir (no TCP).
#
#   pg-test-cluster.sh start        prints the DSN ("host=DIR port=5432 user=postgres dbname=postgres")
#   pg-test-cluster.sh stop DIR|DSN stops the cluster and removes DIR
#
# Run as root it uses the system user `ash-pg` (created if absent, no login, no
# home), falling back to `nobody`; run as anyone else it uses that user.
# PG_BINDIR overrides where initdb/pg_ctl live (default: the newest
# /usr/lib/postgresql/*/bin, else PATH). Exit status 0 on success; on failure a
# reason on stderr (and the server log if it got that far) and status 1.
set -euo pipefail

die() { echo "pg-test-cluster: $*" >&2; exit 1; }

find_bindir() {
    if [[ -n "${PG_BINDIR:-}" ]]; then echo "$PG_BINDIR"; return; fi
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -n "$d" && -x "$d/initdb" ]]; then echo "$d"; return; fi
    local i
    i=$(command -v initdb 2>/dev/null || true)
    [[ -n "$i" ]] || die "initdb not found: install Debian's 'postgresql' package (or set PG_BINDIR)"
    dirname "$i"
}

# The user the server runs as (PostgreSQL refuses to run as root).
pick_user() {
    if [[ $(id -u) -ne 0 ]]; then id -un; return; fi
    if ! id ash-pg >/dev/null 2>&1; then
        useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin ash-pg \
            >/dev/null 2>&1 || true
    fi
    if id ash-pg >/dev/null 2>&1; then echo ash-pg; else echo nobody; fi
}

as_user() {
    local user=$1; shift
    if [[ $(id -u) -ne 0 ]]; then "$@"; else runuser -u "$user" -- "$@"; fi
}

start() {
    local bindir user dir
    bindir=$(find_bindir)
    user=$(pick_user)
    dir=$(mktemp -d /tmp/ash-pg.XXXXXX)
    # The socket dir must be reachable by clients of other users; the data dir stays 0700.
    chmod 755 "$dir"
    [[ $(id -u) -ne 0 ]] || chown "$user" "$dir"
    if ! as_user "$user" "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-sync \
            >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        rm -rf "$dir"
        die "initdb failed (as user $user)"
    fi
    # listen_addresses='' : no TCP at all; the socket lives in $dir only.
    if ! as_user "$user" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
            -o "-c listen_addresses='' -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
            start >/dev/null 2>&1; then
        cat "$dir/server.log" >&2 2>/dev/null || true
        as_user "$user" "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
        rm -rf "$dir"
        die "the server did not start (as user $user)"
    fi
    echo "host=$dir port=5432 user=postgres dbname=postgres"
}

stop() {
    local arg=${1:-} dir bindir user
    [[ -n "$arg" ]] || die "usage: $0 stop DIR|DSN"
    if [[ "$arg" == *host=* ]]; then
        dir=$(sed -E 's/.*host=([^ ]+).*/\1/' <<<"$arg")
    else
        dir=$arg
    fi
    # Only ever remove what `start` made.
    [[ "$dir" == /tmp/ash-pg.* && -d "$dir" ]] || die "not a test cluster directory: '$dir'"
    bindir=$(find_bindir)
    if [[ -d "$dir/data" ]]; then
        user=$(stat -c %U "$dir/data")
        as_user "$user" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}

case "${1:-}" in
start) start ;;
stop) stop "${2:-}" ;;
*) die "usage: $0 start | stop DIR|DSN" ;;
esac
