#!/usr/bin/env bash
# Proves that echobench catches bad echoes: runs every mode briefly against a
# correct peer (must pass) and against deliberately broken peers (must fail
# with the right exit status). Loopback only, about 15 seconds.
#
#   bash bench/selftest.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/echobench-selftest.XXXXXX")
pid=""
cleanup() {
    if [[ -n $pid ]]; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf -- "$work"
}
trap cleanup EXIT

"${CC:-cc}" -std=c17 -O2 -Wall -Wextra -Wpedantic -Werror -pthread \
    -o "$work/echobench" "$here/echobench.c"

# Ports outside the kernel's ephemeral range, as in run.sh.
read -r eph_lo eph_hi </proc/sys/net/ipv4/ip_local_port_range
if ((eph_lo > 12000)); then port_lo=10000 port_hi=$((eph_lo - 1)); else port_lo=$((eph_hi + 1)) port_hi=65535; fi
free_port() {
    local p i
    for ((i = 0; i < 200; i++)); do
        p=$((port_lo + RANDOM % (port_hi - port_lo + 1)))
        [[ -n $(ss -Htuan "( sport = :$p )") ]] || { echo "$p"; return 0; }
    done
    return 1
}
start() { # script args...
    port=$(free_port)
    # Truncate here: the child's own redirection happens after the fork, so
    # the loop below could still read the previous peer's "listening".
    : >"$work/peer.log"
    node "$here/$1" "$port" "${@:2}" 2>"$work/peer.log" &
    pid=$!
    local i
    for ((i = 0; i < 100; i++)); do
        grep -q listening "$work/peer.log" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "peer $1 did not start" >&2
    cat "$work/peer.log" >&2
    exit 1
}
stop() {
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=""
}

fails=0
expect() { # wanted-rc mode
    local want=$1 mode=$2 rc out
    set +e
    out=$("$work/echobench" -m "$mode" -p "$port" -c 4 -d 1 -t 3000 2>"$work/err")
    rc=$?
    set -e
    if [[ $rc == "$want" ]]; then
        printf 'ok    %-8s %-9s rc=%d  %s\n' "$peer" "$mode" "$rc" "$(head -n 1 "$work/err")"
    else
        printf 'FAIL  %-8s %-9s rc=%d (want %d)  %s\n' "$peer" "$mode" "$rc" "$want" "$out"
        sed 's/^/      /' "$work/err"
        fails=$((fails + 1))
    fi
}

peer=good
start peer-node.js 127.0.0.1
for m in pingpong connect bulk udp; do expect 0 "$m"; done
stop

peer=flip # one bit flipped every 50000 bytes / every 500th datagram
start peer-broken.js flip 50000
for m in pingpong connect bulk; do expect 1 "$m"; done
stop
start peer-broken.js flip 500
expect 1 udp
stop

peer=short # TCP closes early: network error (3); UDP echo 1 byte short: mismatch (1)
start peer-broken.js short 1000
for m in pingpong bulk; do expect 3 "$m"; done
expect 1 udp
stop

if ((fails)); then
    echo "selftest: $fails check(s) failed"
    exit 1
fi
echo "selftest: all checks passed"
