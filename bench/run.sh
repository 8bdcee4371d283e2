#!/usr/bin/env bash
# Benchmark echod against reference echo servers, all on loopback, in one run.
#
#   bash bench/run.sh
#
# Environment overrides:
#   ECHOD=path        echod binary (default: build/echod under the repo root)
#   DURATION=5        seconds per scenario
#   CONNS=50          connections for the many-connection ping-pong scenario
#   CONNECT_WORKERS=20  workers for the connect scenario
#   BULK_CONNS=4      connections for the bulk scenario
#   UDP_CONNS=4       sockets for the UDP scenario
#   PEERS="echod naive xinetd socat node"   which servers to run, in this order
#
# The edge scenarios (UDP flood, 10k connect burst, held clients and their
# PSS, 30k hold) are in bench/edge.sh, which runs echod against the naive
# thread-per-client peer with interleaved, repeated runs.
#   KEEP=1            keep the temp dir (binary, configs, peer logs, raw results)
#
# Exit status: 0 if every scenario that ran passed verification, 1 otherwise
# (2 for a setup problem).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# echod runs with the shipped unit's environment (GLIBC_TUNABLES: one
# stack page per idle client thread; see echod(8)).
echod_tunables=$(sed -n 's/^Environment=GLIBC_TUNABLES=//p' "$root/systemd/echod.service.in")

ECHOD=${ECHOD:-build/echod}
case $ECHOD in /*) ;; *) ECHOD=$root/$ECHOD ;; esac
DURATION=${DURATION:-5}
CONNS=${CONNS:-50}
CONNECT_WORKERS=${CONNECT_WORKERS:-20}
BULK_CONNS=${BULK_CONNS:-4}
UDP_CONNS=${UDP_CONNS:-4}
PEERS=${PEERS:-echod naive xinetd socat node}
KEEP=${KEEP:-0}

# name mode conns size
SCENARIOS=(
    "pingpong-1x64 pingpong 1 64"
    "pingpong-${CONNS}x64 pingpong $CONNS 64"
    "connect-${CONNECT_WORKERS}x64 connect $CONNECT_WORKERS 64"
    "bulk-${BULK_CONNS}x64k bulk $BULK_CONNS 65536"
    "udp-${UDP_CONNS}x512 udp $UDP_CONNS 512"
)

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] error: %s\n' "$*" >&2; exit 2; }

for v in DURATION CONNS CONNECT_WORKERS BULK_CONNS UDP_CONNS; do
    [[ ${!v} =~ ^[0-9]+$ && ${!v} -gt 0 ]] || die "$v must be a positive integer (got '${!v}')"
done
((DURATION <= 600)) || die "DURATION must be <= 600"

work=$(mktemp -d "${TMPDIR:-/tmp}/echobench.XXXXXX")
peer_pid=""
socat_udp_pid=""

stop_peer() {
    local pid=$peer_pid
    peer_pid=""
    [[ -n $pid ]] || return 0
    if kill -0 "$pid" 2>/dev/null; then
        # Children of fork-per-connection peers go first (by PID), so that the
        # parent is still there to reap them.
        local kids
        kids=$(pgrep -P "$pid" || true)
        # shellcheck disable=SC2086
        [[ -z $kids ]] || kill -TERM $kids 2>/dev/null || true
        kill -TERM "$pid" 2>/dev/null || true
        local i
        for ((i = 0; i < 50; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "peer pid $pid ignored SIGTERM; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    stop_peer
    if [[ -n $socat_udp_pid ]]; then
        peer_pid=$socat_udp_pid
        socat_udp_pid=""
        stop_peer
    fi
    if [[ $KEEP == 1 ]]; then
        log "kept $work"
    else
        rm -rf -- "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------- build ----------
cc=${CC:-cc}
command -v "$cc" >/dev/null || die "no C compiler ($cc)"
"$cc" -std=c17 -O2 -Wall -Wextra -Wpedantic -Werror -pthread \
    -o "$work/echobench" "$here/echobench.c" || die "echobench failed to build"
bench=$work/echobench
"$cc" -std=c17 -O2 -Wall -Wextra -Wpedantic -Werror -pthread \
    -o "$work/peer-naive" "$here/peer-naive.c" || die "peer-naive failed to build"
log "built $bench"

# ---------- peers: install what is missing ----------
want_pkgs=()
for p in $PEERS; do
    case $p in
    xinetd) command -v xinetd >/dev/null || want_pkgs+=(xinetd) ;;
    socat) command -v socat >/dev/null || want_pkgs+=(socat) ;;
    node) command -v node >/dev/null || want_pkgs+=(nodejs) ;;
    echod | naive) ;;
    *) die "unknown peer '$p' (known: echod naive xinetd socat node)" ;;
    esac
done
command -v ss >/dev/null || want_pkgs+=(iproute2)
if ((${#want_pkgs[@]})); then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        log "installing: ${want_pkgs[*]}"
        export DEBIAN_FRONTEND=noninteractive
        if ! apt-get install -y --no-install-recommends "${want_pkgs[@]}" >"$work/apt.log" 2>&1; then
            apt-get update >>"$work/apt.log" 2>&1 || true
            apt-get install -y --no-install-recommends "${want_pkgs[@]}" >>"$work/apt.log" 2>&1 ||
                log "apt-get install failed (see $work/apt.log); missing peers are skipped"
        fi
    else
        log "not root or no apt-get: cannot install ${want_pkgs[*]}; those peers are skipped"
    fi
fi
command -v ss >/dev/null || die "ss (iproute2) is needed to pick free ports"

# ---------- ports ----------
# Pick ports below the kernel's ephemeral range so that client sockets of an
# earlier scenario (e.g. TIME_WAIT from the connect test) can never hold them.
read -r eph_lo eph_hi </proc/sys/net/ipv4/ip_local_port_range
if ((eph_lo > 12000)); then
    port_lo=10000 port_hi=$((eph_lo - 1))
else
    port_lo=$((eph_hi + 1)) port_hi=65535
fi
((port_hi - port_lo > 100)) || die "no port range outside the ephemeral range"

free_port() {
    local p i
    for ((i = 0; i < 200; i++)); do
        p=$((port_lo + (RANDOM * 32768 + RANDOM) % (port_hi - port_lo + 1)))
        if [[ -z $(ss -Htuan "( sport = :$p )") ]]; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

# Wait until something accepts TCP connections on 127.0.0.1:$1 while pid $2
# lives; at most 10 s.
wait_tcp() {
    local port=$1 pid=$2 i
    for ((i = 0; i < 200; i++)); do
        kill -0 "$pid" 2>/dev/null || return 1
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.05
    done
    return 1
}

# Short verified UDP round trip; retried because the UDP socket may be bound a
# moment after the TCP one.
wait_udp() {
    local port=$1 i
    for ((i = 0; i < 20; i++)); do
        if "$bench" -m udp -p "$port" -c 1 -d 0.2 -t 2000 >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

start_peer() { # name port -> sets peer_pid, returns non-zero if unavailable
    local name=$1 port=$2 plog=$work/$1.log
    case $name in
    echod)
        [[ -x $ECHOD ]] || { log "echod: $ECHOD not found or not executable; skipped"; return 1; }
        cat >"$work/echod.conf" <<EOF
listen = {"127.0.0.1"}
max_clients = 4096
log_level = "warning"
# One source floods on purpose: the rate limit stays in the path, too high to bite.
udp_rate_per_source = 1000000000
udp_rate_burst = 1000000000
EOF
        GLIBC_TUNABLES=$echod_tunables "$ECHOD" -c "$work/echod.conf" -p "$port" >"$plog" 2>&1 &
        ;;
    xinetd)
        command -v xinetd >/dev/null || { log "xinetd: not installed; skipped"; return 1; }
        [[ $(id -u) == 0 ]] || { log "xinetd: needs root for its internal echo; skipped"; return 1; }
        # Internal echo services: TCP forks one child per connection, UDP is
        # answered inside the xinetd process. Limits are lifted so that xinetd
        # itself does not throttle (default cps would disable the service).
        cat >"$work/xinetd.conf" <<EOF
defaults
{
	instances = UNLIMITED
	per_source = UNLIMITED
	cps = 1000000 1
	log_type = FILE $work/xinetd-service.log
	log_on_success =
	log_on_failure =
}
service echo
{
	type = INTERNAL UNLISTED
	id = echo-stream
	socket_type = stream
	protocol = tcp
	user = root
	wait = no
	bind = 127.0.0.1
	port = $port
}
service echo
{
	type = INTERNAL UNLISTED
	id = echo-dgram
	socket_type = dgram
	protocol = udp
	user = root
	wait = yes
	bind = 127.0.0.1
	port = $port
}
EOF
        xinetd -dontfork -f "$work/xinetd.conf" -pidfile "$work/xinetd.pid" >"$plog" 2>&1 &
        ;;
    socat)
        command -v socat >/dev/null || { log "socat: not installed; skipped"; return 1; }
        # One socat process supervising two listeners: TCP forks per
        # connection, UDP forks per datagram.
        # -b 4096 (<= PIPE_BUF): with socat's default 8 KiB blocks a write
        # into the full internal pipe blocks the only process that drains it,
        # and the bulk scenario deadlocks.
        socat -b 4096 -T 60 "TCP4-LISTEN:$port,bind=127.0.0.1,fork,reuseaddr,backlog=1024" PIPE >"$plog" 2>&1 &
        local tcp_pid=$!
        socat "UDP4-RECVFROM:$port,bind=127.0.0.1,fork" PIPE >>"$plog" 2>&1 &
        socat_udp_pid=$!
        peer_pid=$tcp_pid
        return 0
        ;;
    naive)
        # The thread-per-client C server of bench/peer-naive.c.
        "$work/peer-naive" "$port" >"$plog" 2>&1 &
        ;;
    node)
        command -v node >/dev/null || { log "node: not installed; skipped"; return 1; }
        node "$here/peer-node.js" "$port" 127.0.0.1 >"$plog" 2>&1 &
        ;;
    esac
    peer_pid=$!
    return 0
}

# ---------- run ----------
get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $line"; }
declare -A res # "peer|scenario|field" -> value; fields: rate p99 loss status
ran_peers=()
failed=0
t_start=$SECONDS

log "duration ${DURATION}s per scenario; peers: $PEERS"
for peer in $PEERS; do
    port=$(free_port) || die "no free port found"
    start_peer "$peer" "$port" || continue
    if ! wait_tcp "$port" "$peer_pid"; then
        log "$peer did not accept connections on 127.0.0.1:$port; log follows"
        sed 's/^/    /' "$work/$peer.log" >&2 || true
        stop_peer
        [[ -z $socat_udp_pid ]] || { peer_pid=$socat_udp_pid; socat_udp_pid=""; stop_peer; }
        failed=1
        continue
    fi
    udp_ok=1
    wait_udp "$port" || { udp_ok=0; log "$peer: no verified UDP echo on port $port"; }
    ran_peers+=("$peer")
    log "$peer: pid $peer_pid on 127.0.0.1:$port"
    for sc in "${SCENARIOS[@]}"; do
        read -r name mode conns size <<<"$sc"
        key="$peer|$name"
        if [[ $mode == udp && $udp_ok == 0 ]]; then
            res[$key|status]=noudp
            failed=1
            continue
        fi
        set +e
        line=$("$bench" -m "$mode" -p "$port" -c "$conns" -s "$size" -d "$DURATION" 2>"$work/err.txt")
        rc=$?
        set -e
        printf '%s peer=%s rc=%d\n' "$line" "$peer" "$rc" >>"$work/results.txt"
        log "$peer $name: ${line:-<no output>}"
        if [[ -s $work/err.txt ]]; then sed 's/^/    /' "$work/err.txt" | head -n 5 >&2; fi
        res[$key|rate]=$(get rate)
        res[$key|p99]=$(get p99_us)
        res[$key|loss]=$(get loss_pct)
        if ((rc == 0)); then
            res[$key|status]=ok
        else
            st=$(get status)
            res[$key|status]=${st:-rc$rc}
            failed=1
        fi
    done
    if ! kill -0 "$peer_pid" 2>/dev/null; then
        log "$peer (pid $peer_pid) died during the run; log follows"
        sed 's/^/    /' "$work/$peer.log" | tail -n 20 >&2 || true
        failed=1
    fi
    stop_peer
    if [[ -n $socat_udp_pid ]]; then
        peer_pid=$socat_udp_pid
        socat_udp_pid=""
        stop_peer
    fi
done

# ---------- report ----------
cell() { # peer scenario field: the value, the failure status, or -
    local key="$1|$2" st
    st=${res[$key|status]:-}
    if [[ $st == ok ]]; then
        printf '%s' "${res[$key|$3]:--}"
    elif [[ -n $st ]]; then
        printf '%s' "${st^^}"
    else
        printf -- '-'
    fi
}
# UDP ping-pong rates with more than 1% loss measure mostly the client's
# reply timeout, not the server: such cells (and ratios using them) get a "!".
lossy() { # peer scenario
    awk -v l="${res[$1|$2|loss]:-}" 'BEGIN { exit !(l != "" && l + 0 > 1) }'
}
rate_cell() { # peer scenario
    local c
    c=$(cell "$1" "$2" rate)
    [[ ${res[$1|$2|status]:-} != ok ]] || ! lossy "$1" "$2" || c+="!"
    printf '%s' "$c"
}
ratio() { # a b; a trailing "!" on either is carried to the result
    awk -v a="$1" -v b="$2" 'BEGIN {
        f = (a ~ /!$/ || b ~ /!$/) ? "!" : ""; sub(/!$/, "", a); sub(/!$/, "", b)
        if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b + 0 > 0) printf "%.2f%s", a / b, f; else printf "-" }'
}

tabulate() { if command -v column >/dev/null; then column -t; else cat; fi; }

have_echod=0
others=()
for p in "${ran_peers[@]}"; do
    if [[ $p == echod ]]; then have_echod=1; else others+=("$p"); fi
done

echo
echo "echobench: ${DURATION}s per scenario, loopback, $(nproc) CPUs shared by client and server"
echo
echo "Throughput (higher is better; bulk in MiB/s)"
{
    hdr="scenario unit"
    for p in "${ran_peers[@]}"; do hdr+=" $p"; done
    if ((have_echod)); then for p in "${others[@]}"; do hdr+=" echod/$p"; done; fi
    echo "$hdr"
    for sc in "${SCENARIOS[@]}"; do
        read -r name mode conns size <<<"$sc"
        case $mode in pingpong) unit=req/s ;; connect) unit=conn/s ;; bulk) unit=MiB/s ;; udp) unit=dgram/s ;; esac
        row="$name $unit"
        for p in "${ran_peers[@]}"; do row+=" $(rate_cell "$p" "$name")"; done
        if ((have_echod)); then
            for p in "${others[@]}"; do
                row+=" $(ratio "$(rate_cell echod "$name")" "$(rate_cell "$p" "$name")")"
            done
        fi
        echo "$row"
    done
} | tabulate
echo
echo "p99 latency in microseconds (lower is better; udp adds loss %)"
{
    hdr="scenario"
    for p in "${ran_peers[@]}"; do hdr+=" $p"; done
    if ((have_echod)); then for p in "${others[@]}"; do hdr+=" $p/echod"; done; fi
    echo "$hdr"
    for sc in "${SCENARIOS[@]}"; do
        read -r name mode conns size <<<"$sc"
        [[ $mode != bulk ]] || continue
        row="$name"
        for p in "${ran_peers[@]}"; do
            c=$(cell "$p" "$name" p99)
            [[ $mode != udp || ${res[$p|$name|status]:-} != ok ]] || c+="(${res[$p|$name|loss]}%)"
            row+=" $c"
        done
        if ((have_echod)); then
            for p in "${others[@]}"; do
                row+=" $(ratio "$(cell "$p" "$name" p99)" "$(cell echod "$name" p99)")"
            done
        fi
        echo "$row"
    done
} | tabulate
echo
echo "! = UDP loss above 1%: that rate is mostly time spent waiting out lost replies."
if ((have_echod)); then
    echo "Ratios: echod/peer > 1 means echod is faster; peer/echod > 1 means echod's p99 is lower."
else
    echo "echod was not benchmarked (binary: $ECHOD); no ratios."
fi
echo "Total time: $((SECONDS - t_start))s. Raw summary lines: $work/results.txt$([[ $KEEP == 1 ]] || echo ' (removed; KEEP=1 keeps it)')"
if ((failed)); then
    echo "FAILED: at least one scenario or peer did not pass (see messages above)."
    exit 1
fi
