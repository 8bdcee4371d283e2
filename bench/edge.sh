#!/usr/bin/env bash
# The edge scenarios of issue 9, echod against the naive thread-per-client
# C server (peer-naive.c) and optionally node, runs interleaved, on loopback.
#
#   bash bench/edge.sh                 # RUNS=3 DURATION=5
#   bash bench/plot.sh RESULTS-FILE    # PNGs into docs/
#
# Environment: ECHOD (build/echod), ECHOD_BEFORE (another echod binary, the
# peer "before", to compare two versions in one run), RUNS (3), DURATION (5 s), PEERS
# ("echod naive node"), HOLD (10000), HOLD_MAX (30000, capped by the hard
# RLIMIT_NOFILE), HOLD_STEPS ("1000 5000 10000"), OUT (results file),
# ECHOD_TUNABLES (echod's GLIBC_TUNABLES, default the unit's),
# SCENS (the scenarios to run, default all: udp-flood-64x64
# udp-flood-gso-64x64 udp-pingpong-64
# pingpong-1x64 pingpong-50x64 stream-16x16k connect-8x16 burst-10k hold
# hold-max).
# One raw line per run: "peer=... scen=... run=... key=value ...", with the
# server's and the client's CPU seconds (srv_cpu, cli_cpu) and the server's
# CPU per operation (srv_us_per_op; op= names it: a datagram, a request, a
# write of size bytes echoed, a connection, a held client).
#
# The server's CPU per 16 KiB echoed, echod against the naive C server,
# 3 interleaved rounds (bash bench/plot.sh prints medians and ranges):
#   SCENS=stream-16x16k PEERS="echod naive" RUNS=3 DURATION=4 bash bench/edge.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# echod runs with the shipped unit's environment (GLIBC_TUNABLES: one
# stack page per idle client thread; see echod(8)); ECHOD_TUNABLES= (empty)
# measures a daemon started by hand without it.
echod_tunables=${ECHOD_TUNABLES-$(sed -n 's/^Environment=GLIBC_TUNABLES=//p' "$root/systemd/echod.service.in")}
ECHOD=${ECHOD:-$root/build/echod}
RUNS=${RUNS:-3}
DURATION=${DURATION:-5}
PEERS=${PEERS:-echod naive node}
SCENS=${SCENS:-udp-flood-64x64 udp-flood-gso-64x64 udp-pingpong-64 pingpong-1x64 pingpong-50x64 stream-16x16k connect-8x16 burst-10k hold hold-max}
want() { [[ " $SCENS " == *" $1 "* ]]; }
HOLD=${HOLD:-10000}
HOLD_MAX=${HOLD_MAX:-30000}
HOLD_STEPS=${HOLD_STEPS:-1000 5000 10000}
work=$(mktemp -d "${TMPDIR:-/tmp}/edgebench.XXXXXX")
OUT=${OUT:-$work/results.txt}
pid=""

log() { printf '[edge] %s\n' "$*" >&2; }
stop() {
	[[ -n $pid ]] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	pid=""
}
trap 'stop; rm -rf -- "$work"' EXIT
trap 'exit 130' INT TERM

cc -std=c17 -O2 -Wall -Wextra -Werror -o "$work/edgebench" "$here/edgebench.c"
cc -std=c17 -O2 -Wall -Wextra -Wpedantic -Werror -pthread \
    -o "$work/peer-naive" "$here/peer-naive.c"
cc -std=c17 -O2 -Wall -Wextra -Wpedantic -Werror -pthread \
    -o "$work/echobench" "$here/echobench.c"
eb=$work/edgebench
read -r eph_lo _ </proc/sys/net/ipv4/ip_local_port_range
port=$((eph_lo - 1000 - RANDOM % 5000))

start() { # peer; up to 5 ports, in case one is taken
	local try bin
	for try in 1 2 3 4 5; do
		port=$((port + 1))
		case $1 in
		echod | before)
			bin=$ECHOD
			[[ $1 == before ]] && bin=${ECHOD_BEFORE:?ECHOD_BEFORE is not set}
			# One source floods on purpose: the UDP rate limit stays in
			# the path, set too high to bite.
			printf 'listen = {"127.0.0.1"}\nmax_clients = %d\n%s\n%s\n' \
			    $((HOLD_MAX > 10000 ? HOLD_MAX + 100 : 10100)) 'log_level = "warning"' \
			    'udp_rate_per_source = 1000000000
udp_rate_burst = 1000000000' >"$work/echod.conf"
			GLIBC_TUNABLES=$echod_tunables "$bin" -c "$work/echod.conf" -p "$port" >>"$work/$1.log" 2>&1 &
			;;
		naive) "$work/peer-naive" "$port" >>"$work/naive.log" 2>&1 & ;;
		node) node "$here/peer-node.js" "$port" >>"$work/node.log" 2>&1 & ;;
		esac
		pid=$!
		for _ in $(seq 100); do
			# Ours, not another process that holds the port: it must live.
			kill -0 "$pid" 2>/dev/null || break
			(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
			sleep 0.05
		done
		stop
		log "$1 did not start on port $port"
	done
	return 1
}

cpu_of() { # pid -> CPU seconds (utime + stime)
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print ($12 + $13) / hz }' \
	    "/proc/$1/stat"
}
pss_kb() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup"; }
# CPU seconds b - a
cpu_diff() { awk -v a="$1" -v b="$2" 'BEGIN { print b - a }'; }
# srv_cpu, a client's result line -> "op=... srv_us_per_op=...": the
# operations are its ops= (echobench, edgebench flood) or its clients=
# (burst, hold), so the CPU of setup and teardown is in the figure.
per_op() {
	awk -v cpu="$1" -v line="$2" 'BEGIN {
		n = split(line, f, " ")
		for (i = 1; i <= n; i++) { split(f[i], kv, "="); v[kv[1]] = kv[2] }
		ops = ("ops" in v) ? v["ops"] : v["clients"]
		m = v["mode"]
		op = m == "flood" ? "datagram" : m == "pingpong" ? "request" : \
		    m == "bulk" ? "write_" v["size"] "B" : m == "hold" ? \
		    "client" : "connection"
		if (ops + 0 > 0)
			printf "op=%s srv_us_per_op=%.2f", op, cpu * 1e6 / ops
		else
			printf "op=%s srv_us_per_op=-", op
	}'
}

# run peer scen command...: one raw line with CPU use appended
measure() {
	local peer=$1 scen=$2 r=$3 s0 c0 line srv
	shift 3
	want "$scen" || return 0
	s0=$(cpu_of "$pid")
	c0=$(/usr/bin/time -f '%U %S' -o "$work/time" "$@" 2>>"$work/client.err") ||
	    c0="$c0 status=FAIL"
	srv=$(cpu_diff "$s0" "$(cpu_of "$pid")")
	line=$c0
	echo "peer=$peer scen=$scen run=$r $line srv_cpu=$srv cli_cpu=$(awk \
	    'END { print $1 + $2 }' "$work/time") $(per_op "$srv" "$line")" |
	    tee -a "$OUT"
}

hold() { # peer scen run clients secs
	local peer=$1 scen=$2 r=$3 n=$4 secs=$5 base held after i s0 srv
	base=$(pss_kb "$pid")
	s0=$(cpu_of "$pid")
	: >"$work/hold.err"
	"$eb" hold -p "$port" -n "$n" -k 64 -d "$secs" >"$work/hold.out" \
	    2>"$work/hold.err" &
	local cpid=$!
	for ((i = 0; i < 400; i++)); do
		grep -q held "$work/hold.err" && break
		kill -0 $cpid 2>/dev/null || break
		sleep 0.1
	done
	sleep 1
	held=$(pss_kb "$pid")
	local threads
	threads=$(ls "/proc/$pid/task" | wc -l)
	wait $cpid || true
	srv=$(cpu_diff "$s0" "$(cpu_of "$pid")")
	sleep 2
	after=$(pss_kb "$pid")
	echo "peer=$peer scen=$scen run=$r $(cat "$work/hold.out") base_kb=$base" \
	    "held_kb=$held threads_held=$threads pss_per_client_kb=$(awk -v a="$base" \
	    -v b="$held" -v n="$n" 'BEGIN { printf "%.2f", (b - a) / n }')" \
	    "after2s_kb=$after threads_after2s=$(ls "/proc/$pid/task" | wc -l)" \
	    "srv_cpu=$srv $(per_op "$srv" "$(cat "$work/hold.out")")" |
	    tee -a "$OUT"
}

hard=$(ulimit -Hn)
if ((HOLD_MAX + 64 > hard)); then
	log "hard RLIMIT_NOFILE is $hard here (no CAP_SYS_RESOURCE to raise it): hold capped"
	HOLD_MAX=$((hard - 200))
fi
log "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); results in $OUT"
for ((r = 1; r <= RUNS; r++)); do
	for peer in $PEERS; do
		[[ $peer == node ]] && ! command -v node >/dev/null && continue
		start "$peer" || continue
		measure "$peer" udp-flood-64x64 "$r" "$eb" flood -p "$port" -n 64 -s 64 -d "$DURATION"
		# The same datagrams from a client that lets the kernel batch
		# them (UDP_SEGMENT out, UDP_GRO in), so the client is cheap.
		measure "$peer" udp-flood-gso-64x64 "$r" "$eb" flood -g -p "$port" -n 64 -s 64 -d "$DURATION"
		measure "$peer" udp-pingpong-64 "$r" "$eb" flood -p "$port" -n 1 -s 64 -d "$DURATION"
		measure "$peer" pingpong-1x64 "$r" "$work/echobench" -m pingpong -p "$port" -c 1 -s 64 -d "$DURATION"
		measure "$peer" pingpong-50x64 "$r" "$work/echobench" -m pingpong -p "$port" -c 50 -s 64 -d "$DURATION"
		measure "$peer" stream-16x16k "$r" "$work/echobench" -m bulk -p "$port" -c 16 -s 16384 -d "$DURATION"
		measure "$peer" connect-8x16 "$r" "$work/echobench" -m connect -p "$port" -c 8 -s 16 -d "$DURATION"
		stop
		[[ $peer == node ]] && continue
		# The burst on a fresh server, with the accept queue sampled.
		if want burst-10k && start "$peer"; then
		(while kill -0 "$pid" 2>/dev/null; do ss -Hltn "( sport = :$port )" |
		    awk '{ print $2 }'; sleep 0.01; done) >"$work/q" 2>/dev/null &
		qpid=$!
		line=$(measure "$peer" burst-10k "$r" "$eb" burst -p "$port" -n 10000 -k 64)
		kill $qpid 2>/dev/null || true
		wait $qpid 2>/dev/null || true
		sed -i '$d' "$OUT"
		echo "$line accept_queue_max=$(sort -n "$work/q" | tail -1) backlog=4096" |
		    tee -a "$OUT"
		stop
		fi
		if want hold && start "$peer"; then
		for n in $HOLD_STEPS; do
			hold "$peer" hold "$r" "$n" 3
		done
		stop
		fi
	done
done
# The big hold once per server: echo once a second for 30 s.
for peer in $PEERS; do
	[[ $peer == node ]] && continue
	want hold-max || continue
	start "$peer" || continue
	hold "$peer" hold-max 1 "$HOLD_MAX" 30
	stop
done
log "results: $OUT"
if [[ -n ${KEEP:-} ]]; then cp "$OUT" "$KEEP"; fi
