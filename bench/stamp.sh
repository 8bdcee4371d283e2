#!/usr/bin/env bash
# STAMP reflector benchmark: bash bench/stamp.sh [SECONDS] [OUT]
# Starts build/echod with STAMP on a free port and measures, with
# bench/stampbench.c (built here):
#   - the reflector's residence time (T3 - T2, from each reply) p50, p99,
#     p99.9 at 1,000 and 50,000 packets/s, alone and under a 64-byte echo
#     flood on the same daemon (256 datagrams in flight);
#   - the reflected rate the UDP thread sustains (256 packets in flight)
#     against the echo path's own rate, in the same run.
# Raw lines go to OUT (default bench/results/stamp.txt); with gnuplot,
# docs/stamp-residence.png is drawn from them.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
secs=${1:-5}
out=${2:-$root/bench/results/stamp.txt}
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf -- "$tmp"
}
trap cleanup EXIT
cc -std=c17 -O2 -Wall -Wextra -Wpedantic -Werror -pthread -D_GNU_SOURCE \
    -I"$root/include" -o "$tmp/stampbench" "$root/bench/stampbench.c"
free_port() {
	python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
port=$(free_port)
sport=$(free_port)
cat >"$tmp/echod.conf" <<CONF
port = $port
listen = {"127.0.0.1"}
tcp = false
stamp = true
stamp_port = $sport
udp_rate_per_source = 0
CONF
"$root/build/echod" -c "$tmp/echod.conf" 2>"$tmp/echod.log" &
pids+=($!)
for _ in $(seq 50); do grep -q "listening on stamp" "$tmp/echod.log" && break; sleep 0.1; done
grep -q "listening on stamp" "$tmp/echod.log" || { cat "$tmp/echod.log"; exit 1; }
: >"$out"
run() {
	local load=$1; shift
	printf 'load=%s %s\n' "$load" "$("$tmp/stampbench" -p "$sport" "$@")" | tee -a "$out"
}
for rate in 1000 50000; do run alone -r $rate -d "$secs"; done
"$tmp/stampbench" -p "$port" -w 256 -e -d $((2 * secs + 4)) >"$tmp/flood.txt" &
flood=$!
pids+=($flood)
sleep 1
for rate in 1000 50000; do run echo-flood -r $rate -d "$secs"; done
wait "$flood"
printf 'load=flood-itself %s\n' "$(cat "$tmp/flood.txt")" | tee -a "$out"
run max -w 256 -d "$secs"
printf 'load=max %s\n' "$("$tmp/stampbench" -p "$port" -w 256 -e -d "$secs")" | tee -a "$out"
if command -v gnuplot >/dev/null; then
	awk '/resid_p50/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		printf "\"%s\\n%s/s\" %s %s %s\n", v["load"], v["rate"], v["resid_p50"], v["resid_p99"], v["resid_p999"] }' \
	    "$out" >"$tmp/resid.dat"
	gnuplot <<GP
set terminal pngcairo size 900,480 font ",10"
set output "$root/docs/stamp-residence.png"
set title "echod STAMP reflector: residence time T3 - T2 (loopback)"
set ylabel "microseconds (log)"
set logscale y
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key top left
set grid ytics
plot "$tmp/resid.dat" using 2:xtic(1) title "p50", "" using 3 title "p99", "" using 4 title "p99.9"
GP
	echo "plot: docs/stamp-residence.png"
fi
