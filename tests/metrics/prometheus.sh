#!/usr/bin/env bash
# A real Prometheus server scrapes echod: Debian's prometheus, started here
# on the loopback with a generated config (scrape every second) and its
# storage in a temporary directory.  After known traffic (TCP echoes, UDP
# echoes, TCP clients refused by deny), its query API must return exactly
# those counts, the reason-labelled refusal, the histogram, and up == 1.
# Both processes are started here and stopped by PID.  Skips (77) without
# prometheus, curl, jq or a build with the endpoint, and fails instead
# under ECHOD_TEST=require (CI).
# Usage: ECHOD_BIN=build/echod prometheus.sh
set -euo pipefail

TCP_CLIENTS=7		# echoed over TCP, each its own connection
UDP_DATAGRAMS=5		# echoed over UDP
REFUSED=3		# TCP clients from 127.0.0.2, refused by deny
WAIT_S=40		# for Prometheus to show them

skip() {
	if [ "${ECHOD_TEST:-}" = require ]; then
		echo "FAIL: ECHOD_TEST=require, but cannot run here: $*" >&2
		exit 1
	fi
	echo "SKIPPED: $*"
	exit 77
}
fail() {
	echo "FAIL: $*" >&2
	echo "--- echod stderr:" >&2; tail -20 "$tmp/echod.log" >&2 || true
	echo "--- prometheus stderr:" >&2; tail -20 "$tmp/prom.log" >&2 || true
	exit 1
}

echod=${ECHOD_BIN:?ECHOD_BIN: the echod binary}
for tool in prometheus curl jq nc; do
	command -v "$tool" >/dev/null || skip "$tool not installed"
done

tmp=$(mktemp -d)
echod_pid= prom_pid=
cleanup() {
	for pid in $prom_pid $echod_pid; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

# A TCP port nothing listens on now, below the ephemeral range (where
# any outgoing connection may hold a port); a race is caught at start.
free_port() {
	local p low
	read -r low _ </proc/sys/net/ipv4/ip_local_port_range
	[ "$low" -gt 12000 ] || low=32768
	for _ in $(seq 50); do
		p=$((10000 + RANDOM % (low - 10000)))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# Poll a command (bounded) until it succeeds.
wait_for() {
	local secs=$1
	shift
	local end=$((SECONDS + secs))
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.2
	done
}

# echod, on other ports while one was taken meanwhile (exit 71).
for try in 1 2 3; do
	port=$(free_port) mport=$(free_port)
	cat >"$tmp/echod.conf" <<CONF
port = $port
listen = {"127.0.0.1"}
deny = {"127.0.0.2"}
metrics_listen = "127.0.0.1:$mport"
CONF
	if [ "$try" = 1 ] && ! "$echod" -t -c "$tmp/echod.conf" >/dev/null 2>&1; then
		skip "this echod has no metrics endpoint:" \
		    "$("$echod" -t -c "$tmp/echod.conf" 2>&1)"
	fi
	"$echod" -c "$tmp/echod.conf" 2>"$tmp/echod.log" &
	echod_pid=$!
	wait_for 10 grep -q -e "metrics on http://" -e "cannot bind" \
	    "$tmp/echod.log" || fail "echod did not start"
	grep -q "metrics on http://" "$tmp/echod.log" && break
	wait "$echod_pid" || true
	echod_pid=
done
[ -n "$echod_pid" ] || fail "echod: no free ports in 3 tries"

cat >"$tmp/prometheus.yml" <<CONF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: echod
    static_configs:
      - targets: ["127.0.0.1:$mport"]
CONF
prom_ready() {
	curl -sf "$api/-/ready" -o /dev/null && return 0
	kill -0 "$prom_pid" 2>/dev/null || return 0	# exited: stop waiting
	return 1
}
for try in 1 2 3; do
	pport=$(free_port)
	api="http://127.0.0.1:$pport"
	prometheus --config.file="$tmp/prometheus.yml" \
	    --storage.tsdb.path="$tmp/data" \
	    --web.listen-address="127.0.0.1:$pport" \
	    --log.level=warn 2>"$tmp/prom.log" &
	prom_pid=$!
	wait_for 30 prom_ready || fail "prometheus not ready on $api"
	curl -sf "$api/-/ready" -o /dev/null && break
	wait "$prom_pid" || true
	prom_pid=
	grep -q "address already in use" "$tmp/prom.log" ||
	    fail "prometheus did not start"
done
[ -n "$prom_pid" ] || fail "prometheus: no free port in 3 tries"

# The traffic, each client whole before the next.
for i in $(seq "$TCP_CLIENTS"); do
	exec 4<>"/dev/tcp/127.0.0.1/$port"
	printf 'hello%d' "$i" >&4
	IFS= read -r -t 5 -N 6 echoed <&4 || fail "no TCP echo"
	[ "$echoed" = "hello$i" ] || fail "TCP echo: '$echoed'"
	exec 4>&-
done
exec 5<>"/dev/udp/127.0.0.1/$port"
for i in $(seq "$UDP_DATAGRAMS"); do
	printf 'dgram%d' "$i" >&5
	IFS= read -r -t 5 -N 6 echoed <&5 || fail "no UDP echo"
	[ "$echoed" = "dgram$i" ] || fail "UDP echo: '$echoed'"
done
exec 5>&-
for _ in $(seq "$REFUSED"); do
	nc -s 127.0.0.2 -w 5 127.0.0.1 "$port" </dev/null >/dev/null 2>&1 || true
done

# What Prometheus has now for query: exactly want, or false.
has() {
	local query=$1 want=$2 got
	got=$(curl -sf "$api/api/v1/query" --data-urlencode "query=$query" |
	    jq -r '.data.result | if length == 1 then .[0].value[1] else "n=\(length)" end') ||
	    return 1
	last="$query = $got (want $want)"
	[ "$got" = "$want" ]
}
check() {
	wait_for "$WAIT_S" has "$1" "$2" || fail "prometheus: $last"
	echo "ok: $1 = $2"
}
check 'up{job="echod"}' 1
check echod_tcp_accepted_total "$TCP_CLIENTS"
check echod_udp_datagrams_received_total "$UDP_DATAGRAMS"
check echod_udp_datagrams_sent_total "$UDP_DATAGRAMS"
check 'echod_tcp_refused_total{reason="acl"}' "$REFUSED"
check 'echod_tcp_refused_total{reason="max_clients"}' 0
check echod_tcp_bytes_received_total $((TCP_CLIENTS * 6))
check echod_tcp_connection_duration_seconds_count "$TCP_CLIENTS"
check 'echod_tcp_connection_duration_seconds_bucket{le="+Inf"}' "$TCP_CLIENTS"
check echod_tcp_clients 0
check 'count(echod_build_info)' 1
check echod_config_last_reload_successful 1
check 'process_open_fds > bool 0' 1
check 'process_resident_memory_bytes > bool 0' 1
# Prometheus asked for OpenMetrics, and took it: only there is the build
# family of type info.
meta=$(curl -sfG "$api/api/v1/metadata" --data-urlencode metric=echod_build) ||
	fail "no metadata API"
[ "$(jq -r '.data.echod_build[0].type' <<<"$meta")" = info ] ||
	fail "not scraped as OpenMetrics: $meta"
echo "ok: scraped as OpenMetrics"
# The scrape itself is clean: no error on the target.
targets=$(curl -sf "$api/api/v1/targets")
[ "$(jq -r '.data.activeTargets[0].lastError' <<<"$targets")" = "" ] ||
	fail "target error: $(jq -r '.data.activeTargets[0].lastError' <<<"$targets")"

kill "$prom_pid"
wait "$prom_pid" || fail "prometheus exited $?"
prom_pid=
kill "$echod_pid"
rc=0
wait "$echod_pid" || rc=$?
echod_pid=
[ "$rc" = 0 ] || fail "echod exited $rc on SIGTERM"
echo "1 passed, 0 failed"
