#!/usr/bin/env bash
# echod in a fleet, behind real balancers, in network namespaces this
# script creates and removes itself (CTest label "fleet", needs root):
#
#   run.sh nftables    a numgen DNAT balancer as kube-proxy's nftables mode
#                      builds it (examples/nftables-echod.nft), TCP and UDP
#                      over three backends
#   run.sh reuseport   two instances on one port in one namespace; one
#                      stopped with a grace while clients keep coming
#   run.sh haproxy     HAProxy (examples/haproxy-echod.cfg as is, TCP mode,
#                      send-proxy-v2, health checks) over three backends
#
# Addresses are only those of RFC 2544 (198.18.0.0/15) and 2001:db8::/32,
# and only inside the namespaces.  Everything started is stopped by PID,
# every namespace (named per run) deleted, on any exit.  Skips (77) with
# the reason where namespaces cannot be made; under ECHOD_TEST=require a
# skip is a failure.  Environment: ECHOD_BIN, FLEET_CLIENT,
# ECHOD_SOURCE_DIR (set by CTest).
set -euo pipefail

mode=${1:-}
bin=${ECHOD_BIN:?ECHOD_BIN is not set (run through ctest)}
client=${FLEET_CLIENT:?FLEET_CLIENT is not set (run through ctest)}
srcdir=${ECHOD_SOURCE_DIR:?ECHOD_SOURCE_DIR is not set (run through ctest)}
port=7
tag="ef$$"			# namespace names: unique per run
pids=()
namespaces=()
work=""

skip() {
	if [ "${ECHOD_TEST:-}" = require ]; then
		echo "FAIL: ECHOD_TEST=require, but cannot run here: $*"
		exit 1
	fi
	echo "SKIPPED: $*"
	exit 77
}
fail() {
	echo "FAIL: $*"
	exit 1
}
note() { echo "== $*"; }

cleanup() {
	local p n
	for p in "${pids[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	for n in "${namespaces[@]}"; do
		ip netns del "$n" 2>/dev/null || true
	done
	[ -z "$work" ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP	# so the EXIT trap cleans up then too

case $mode in
nftables | reuseport | haproxy) ;;
*) echo "usage: run.sh nftables|reuseport|haproxy" >&2; exit 64 ;;
esac
[ "$(id -u)" = 0 ] || skip "needs root to create network namespaces"
command -v ip >/dev/null || skip "ip(8) (iproute2) is not installed"
[ "$mode" != nftables ] || command -v nft >/dev/null ||
    skip "nft(8) (nftables) is not installed"
[ "$mode" != haproxy ] || [ -x /usr/sbin/haproxy ] ||
    skip "/usr/sbin/haproxy is not installed"
if ! err=$(ip netns add "$tag-probe" 2>&1); then
	skip "cannot create a network namespace: $err"
fi
namespaces+=("$tag-probe")
work=$(mktemp -d)

# ---- namespaces and links ----

ns() { echo "$tag-$1"; }
in_ns() {
	local n
	n=$(ns "$1")
	shift
	ip netns exec "$n" "$@"
}
mkns() {
	ip netns add "$(ns "$1")"
	namespaces+=("$(ns "$1")")
	ip -n "$(ns "$1")" link set lo up
}
# link NS1 IF1 NS2 IF2: a veth pair, created inside the namespaces.
link() {
	ip link add "$2" netns "$(ns "$1")" type veth peer name "$4" \
	    netns "$(ns "$3")"
	ip -n "$(ns "$1")" link set "$2" up
	ip -n "$(ns "$3")" link set "$4" up
}
addr() {
	case $3 in
	*:*) ip -n "$(ns "$1")" addr add "$3" dev "$2" nodad ;;
	*) ip -n "$(ns "$1")" addr add "$3" dev "$2" ;;
	esac
}

# cli (clients, several addresses) -- lb (the balancer) -- b1..bN.
clients4=(198.18.0.10 198.18.0.11 198.18.0.12)
client6=2001:db8::10
topology() {
	local nback=$1 k
	mkns cli
	mkns lb
	link cli c0 lb l0
	addr cli c0 198.18.0.2/24
	for a in "${clients4[@]}"; do addr cli c0 "$a/24"; done
	addr cli c0 2001:db8::2/64
	addr cli c0 "$client6/64"
	addr lb l0 198.18.0.1/24
	addr lb l0 2001:db8::1/64
	ip -n "$(ns cli)" route add default via 198.18.0.1
	ip -n "$(ns cli)" -6 route add default via 2001:db8::1
	in_ns lb sysctl -qw net.ipv4.ip_forward=1
	for k in $(seq 1 "$nback"); do
		mkns "b$k"
		link lb "l$k" "b$k" e0
		addr lb "l$k" "198.19.$k.1/24"
		addr "b$k" e0 "198.19.$k.2/24"
		ip -n "$(ns "b$k")" route add default via "198.19.$k.1"
	done
}

# ---- echod instances: name -> pid, log, conf ----

declare -A pid_of
start_echod() {			# start_echod NAME NS CONFIG-TEXT
	local name=$1 n=$2 conf="$work/$1.conf" log="$work/$1.log"
	printf '%s' "$3" >"$conf"
	ip netns exec "$(ns "$n")" "$bin" -c "$conf" 2>"$log" &
	pid_of[$name]=$!
	pids+=("$!")
	for _ in $(seq 1 200); do
		grep -q 'echod: started (' "$log" && return 0
		kill -0 "${pid_of[$name]}" 2>/dev/null ||
		    fail "$name did not start: $(cat "$log")"
		sleep 0.05
	done
	fail "$name did not start within 10 s: $(cat "$log")"
}
# stat NAME COUNTER: a fresh stats line (SIGUSR1), that counter's value.
stat() {
	local log="$work/$1.log" before
	before=$(grep -c 'stats:' "$log" || true)
	kill -USR1 "${pid_of[$1]}"
	for _ in $(seq 1 200); do
		if [ "$(grep -c 'stats:' "$log" || true)" -gt "$before" ]; then
			grep 'stats:' "$log" | tail -1 | tr ' ' '\n' |
			    sed -n "s/^$2=//p"
			return 0
		fi
		sleep 0.05
	done
	fail "$1 logged no stats line"
}
# wait_stat NAME COUNTER MIN: poll until the counter is at least MIN.
wait_stat() {
	local v
	for _ in $(seq 1 100); do
		v=$(stat "$1" "$2")
		[ "$v" -ge "$3" ] && return 0
		sleep 0.1
	done
	fail "$1: $2 is $v, waited for $3"
}
# wait_log NAME TEXT: poll its log (10 s).
wait_log() {
	for _ in $(seq 1 200); do
		grep -qF -- "$2" "$work/$1.log" && return 0
		sleep 0.05
	done
	fail "$1 never logged '$2': $(tail -5 "$work/$1.log")"
}
# wait_count NAME TEXT N: poll until its log holds TEXT N times (10 s).
wait_count() {
	for _ in $(seq 1 200); do
		[ "$(grep -cF -- "$2" "$work/$1.log" || true)" -ge "$3" ] &&
		    return 0
		sleep 0.05
	done
	fail "$1 logged '$2' fewer than $3 times"
}
# stop_wait NAME: wait for its exit (30 s), which must be 0.
stop_wait() {
	local p=${pid_of[$1]} rc
	for _ in $(seq 1 600); do
		if ! kill -0 "$p" 2>/dev/null; then
			rc=0
			wait "$p" || rc=$?
			[ "$rc" = 0 ] || fail "$1 exited $rc: $(tail -5 \
			    "$work/$1.log")"
			return 0
		fi
		sleep 0.05
	done
	fail "$1 still running 30 s after SIGTERM"
}

# fleet_client in the client namespace; its summary on stdout.
run_client() { in_ns cli "$client" "$@"; }
field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$2"; }

backend_conf() {		# backend_conf EXTRA
	printf 'port = %s\nlisten = {"0.0.0.0"}\nlog_level = "%s"\n%s' \
	    "$port" "${LOGLEVEL:-info}" "$1"
}

# ---- nftables: numgen DNAT over three backends ----

test_nftables() {
	local vip=198.18.100.7 k out total_tcp=0 total_udp=0 t u a
	LOGLEVEL=debug
	topology 3
	ip -n "$(ns cli)" route add "$vip/32" via 198.18.0.1
	in_ns lb nft -D "VIP=$vip" -D "PORT=$port" -D B1=198.19.1.2 \
	    -D B2=198.19.2.2 -D B3=198.19.3.2 \
	    -f "$srcdir/examples/nftables-echod.nft"
	for k in 1 2 3; do
		start_echod "b$k" "b$k" "$(backend_conf 'udp_rate_per_source = 0
')"
	done
	note "TCP: 3 addresses x 30 connections x 64 KiB through $vip"
	for a in "${clients4[@]}"; do
		out=$(run_client -s "$a" -n 30 -b 65536 "$vip" "$port") ||
		    fail "tcp from $a: $out"
		echo "$out"
	done
	note "UDP: 3 addresses x 100 flows x 1200 bytes"
	for a in "${clients4[@]}"; do
		out=$(run_client -u -s "$a" -n 100 -b 1200 "$vip" "$port") ||
		    fail "udp from $a: $out"
		echo "$out"
	done
	for k in 1 2 3; do
		t=$(stat "b$k" tcp_accepted)
		u=$(stat "b$k" udp_datagrams_out)
		echo "b$k: tcp_accepted=$t tcp_bytes_in=$(stat "b$k" \
		    tcp_bytes_in) udp_datagrams_out=$u"
		[ "$t" -gt 0 ] || fail "b$k took no TCP connection"
		[ "$u" -gt 0 ] || fail "b$k answered no datagram"
		# DNAT keeps the source: echod's limits see each client.
		for a in "${clients4[@]}"; do
			grep -q "tcp $a:[0-9]*: connected" "$work/b$k.log" ||
			    fail "b$k never saw $a"
		done
		total_tcp=$((total_tcp + t))
		total_udp=$((total_udp + u))
	done
	[ "$total_tcp" = 90 ] || fail "90 connections, backends took $total_tcp"
	[ "$total_udp" -ge 300 ] || fail "300 flows, $total_udp answers"
	note "nftables: every byte and datagram verified; shares above"
}

# ---- reuseport: two instances, one port, one drained ----

test_reuseport() {
	local conf out bg k a1 a2 churn
	topology 0
	# Half-open connections of a closing listener move to its sibling.
	in_ns lb sysctl -qw net.ipv4.tcp_migrate_req=1 || true
	conf=$(printf 'port = %s\nlisten = {"198.18.0.1", "2001:db8::1"}\nreuseport = true\nshutdown_grace = 30\nudp_rate_per_source = 0\n' "$port")
	start_echod a lb "$conf"
	start_echod b lb "$conf"
	note "both serve: TCP and UDP from 3 addresses"
	for a in "${clients4[@]}"; do
		out=$(run_client -s "$a" -n 20 -b 32768 198.18.0.1 "$port") ||
		    fail "tcp from $a: $out"
		echo "$out"
		out=$(run_client -u -s "$a" -n 50 -b 512 198.18.0.1 "$port") ||
		    fail "udp from $a: $out"
		echo "$out"
	done
	out=$(run_client -s "$client6" -n 20 -b 32768 2001:db8::1 "$port") ||
	    fail "tcp from $client6: $out"
	echo "$out"
	a1=$(stat a tcp_accepted)
	a2=$(stat b tcp_accepted)
	echo "a: tcp_accepted=$a1 udp_datagrams_out=$(stat a udp_datagrams_out)"
	echo "b: tcp_accepted=$a2 udp_datagrams_out=$(stat b udp_datagrams_out)"
	{ [ "$a1" -gt 0 ] && [ "$a2" -gt 0 ]; } || fail "one instance took nothing"
	[ "$((a1 + a2))" = 80 ] || fail "80 connections, took $((a1 + a2))"
	{ [ "$(stat a udp_datagrams_out)" -gt 0 ] &&
	    [ "$(stat b udp_datagrams_out)" -gt 0 ]; } ||
	    fail "one instance answered no datagram"

	note "stop a with a grace while 16 clients stay and new ones come"
	run_client -s 198.18.0.10 -n 16 -d 4000 -b 262144 198.18.0.1 "$port" \
	    >"$work/stay.out" 2>&1 &
	bg=$!
	pids+=("$bg")
	wait_stat a tcp_clients 1
	# New clients all along, across the moment a closes its listeners.
	(for k in $(seq 1 20); do
		run_client -s 198.18.0.11 -n 10 -b 4096 198.18.0.1 "$port" ||
		    exit 1
	done) >"$work/churn.out" 2>&1 &
	churn=$!
	pids+=("$churn")
	kill -TERM "${pid_of[a]}"
	wait_log a "draining "
	for k in 1 2 3; do
		out=$(run_client -s 198.18.0.11 -n 20 -b 16384 198.18.0.1 \
		    "$port") || fail "new clients during the drain: $out"
		echo "$out"
		out=$(run_client -u -s 198.18.0.12 -n 30 -b 512 198.18.0.1 \
		    "$port") || fail "datagrams during the drain: $out"
		echo "$out"
	done
	wait "$churn" || fail "new clients across the drain: $(cat \
	    "$work/churn.out")"
	echo "churn across the drain: $(grep -c 'ok=10 closed=0 failed=0' \
	    "$work/churn.out") of 20 runs of 10 clients all served"
	wait "$bg" || fail "clients of the drained instance: $(cat \
	    "$work/stay.out")"
	cat "$work/stay.out"
	[ "$(field ok "$(cat "$work/stay.out")")" = 16 ] ||
	    fail "the staying clients lost data"
	stop_wait a
	grep -q 'drained: every client left' "$work/a.log" ||
	    fail "a did not drain: $(tail -5 "$work/a.log")"
	out=$(run_client -s 198.18.0.10 -n 10 -b 4096 198.18.0.1 "$port") ||
	    fail "after the drain: $out"
	echo "$out"
	note "reuseport: the port stayed served, nothing lost"
}

# ---- HAProxy: send-proxy-v2 and health checks over three backends ----

haproxy_env() {
	env ECHOD_FRONT_V4=198.18.0.1 ECHOD_FRONT_V6=2001:db8::1 \
	    ECHOD_PORT="$port" ECHOD_B1=198.19.1.2 ECHOD_B2=198.19.2.2 \
	    ECHOD_B3=198.19.3.2 "$@"
}

test_haproxy() {
	local cfg="$srcdir/examples/haproxy-echod.cfg" k out bg a
	local -a checks
	local proxied="proxy_protocol = true
proxy_from = {\"198.19.0.0/16\"}
shutdown_grace = 30
" refused=0 closed
	LOGLEVEL=debug
	topology 3
	haproxy_env /usr/sbin/haproxy -c -q -f "$cfg" ||
	    fail "haproxy -c refuses $cfg"
	for k in 1 2 3; do
		start_echod "b$k" "b$k" "$(backend_conf "$proxied")"
	done
	haproxy_env ip netns exec "$(ns lb)" /usr/sbin/haproxy -db -f "$cfg" \
	    >"$work/haproxy.log" 2>&1 &
	pids+=("$!")
	note "health checks (LOCAL) reach every backend"
	for k in 1 2 3; do wait_log "b$k" "(PROXY v2 LOCAL)"; done

	note "clients from 4 addresses, 20 connections x 64 KiB each"
	for a in "${clients4[@]}"; do
		out=$(run_client -s "$a" -n 20 -b 65536 198.18.0.1 "$port") ||
		    fail "tcp from $a: $out"
		echo "$out"
	done
	out=$(run_client -s "$client6" -n 20 -b 65536 2001:db8::1 "$port") ||
	    fail "tcp from $client6: $out"
	echo "$out"
	for k in 1 2 3; do
		echo "b$k: health checks served (LOCAL): $(grep -c \
		    '(PROXY v2 LOCAL)' "$work/b$k.log")," \
		    "tcp_accepted=$(stat "b$k" tcp_accepted)" \
		    "tcp_bytes_in=$(stat "b$k" tcp_bytes_in)" \
		    "tcp_refused_proxy_header=$(stat "b$k" \
		    tcp_refused_proxy_header)"
		[ "$(stat "b$k" tcp_refused_proxy_header)" = 0 ] ||
		    fail "b$k refused HAProxy's headers"
		grep -q 'tcp 198.18.0.1[012]:[0-9]* via 198.19.' \
		    "$work/b$k.log" || fail "b$k never saw a real address"
		if grep '(PROXY v2 PROXY)' "$work/b$k.log" |
		    grep -q 'tcp 198.19.'; then
			fail "b$k took the balancer's address as a client's"
		fi
	done
	grep -q "tcp \[$client6\]:" "$work"/b[123].log ||
	    fail "no backend saw the IPv6 client"

	note "max_clients_per_source = 1: 198.18.0.10 holds 4, .11 gets in"
	for k in 1 2 3; do
		backend_conf "$proxied"'max_clients_per_source = 1
' >"$work/b$k.conf"
		kill -HUP "${pid_of[b$k]}"
		wait_log "b$k" "applied"
	done
	for k in 1 2 3; do
		checks[k]=$(grep -c '(PROXY v2 LOCAL)' "$work/b$k.log")
	done
	run_client -c -s 198.18.0.10 -n 4 -d 3000 -b 65536 198.18.0.1 "$port" \
	    >"$work/cap.out" 2>&1 &
	bg=$!
	pids+=("$bg")
	# Wait for the refusal, so .11 comes while .10 holds its places.
	for _ in $(seq 1 100); do
		refused=0
		for k in 1 2 3; do
			refused=$((refused + $(stat "b$k" tcp_refused_per_source)))
		done
		[ "$refused" -ge 1 ] && break
		sleep 0.1
	done
	[ "$refused" -ge 1 ] || fail "no connection of 198.18.0.10 refused"
	refused=0
	out=$(run_client -s 198.18.0.11 -n 1 -b 65536 198.18.0.1 "$port") ||
	    fail "another client through the same HAProxy: $out"
	echo "$out"
	wait "$bg" || fail "the capped client: $(cat "$work/cap.out")"
	cat "$work/cap.out"
	closed=$(field closed "$(cat "$work/cap.out")")
	for k in 1 2 3; do
		refused=$((refused + $(stat "b$k" tcp_refused_per_source)))
	done
	{ [ "$closed" -ge 1 ] && [ "$refused" = "$closed" ]; } ||
	    fail "4 connections of one source at cap 1 over 3 backends:" \
	    "closed $closed, refused $refused"
	grep -q 'tcp 198.18.0.10: max_clients_per_source reached' \
	    "$work"/b[123].log || fail "no refusal logged with the real address"
	# Health checks went on at cap 1: the balancer is nobody's source.
	for k in 1 2 3; do
		wait_count "b$k" '(PROXY v2 LOCAL)' $((checks[k] + 1))
	done
	for k in 1 2 3; do
		backend_conf "$proxied" >"$work/b$k.conf"
		kill -HUP "${pid_of[b$k]}"
		wait_count "b$k" "applied" 2
	done

	note "b1 stopped with a grace: its clients finish, new ones go on"
	run_client -s 198.18.0.12 -n 6 -d 4000 -b 262144 198.18.0.1 "$port" \
	    >"$work/stay.out" 2>&1 &
	bg=$!
	pids+=("$bg")
	wait_stat b1 tcp_clients 1
	kill -TERM "${pid_of[b1]}"
	wait_log b1 "draining "
	for k in 1 2 3; do
		out=$(run_client -s 198.18.0.11 -n 20 -b 16384 198.18.0.1 \
		    "$port") || fail "new clients while b1 drains: $out"
		echo "$out"
	done
	wait "$bg" || fail "clients of the drained backend: $(cat \
	    "$work/stay.out")"
	cat "$work/stay.out"
	stop_wait b1
	echo "after b1's drain: b2 tcp_accepted=$(stat b2 tcp_accepted)," \
	    "b3 tcp_accepted=$(stat b3 tcp_accepted)"
	if sed -n '/draining /,$p' "$work/b1.log" | grep -q 'connected (PROXY'; then
		fail "b1 took a client after it began to drain"
	fi
	note "haproxy: every byte verified, real addresses seen, drain lost nothing"
}

# FLEET_KEEP=DIR: copy the logs and configs there on exit (debugging).
[ -z "${FLEET_KEEP:-}" ] || trap 'cp -r "$work" "$FLEET_KEEP"; cleanup' EXIT
"test_$mode"
echo "PASS: fleet $mode"
