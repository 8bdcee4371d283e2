#!/usr/bin/env bash
# The hot-path cost of the "safe to expose" features: the same echod binary
# with every feature off, then on (rate limits so high that nothing is
# limited, fair share on, a 10,000-entry deny list that matches nobody),
# runs interleaved, median of RUNS per scenario, ratio on/off.
# Usage: bench/guards.sh [BUILD_DIR] (default build); RUNS=5 SECS=3.
set -euo pipefail
cd "$(dirname "$0")/.."
# echod runs with the shipped unit's environment (GLIBC_TUNABLES: one
# stack page per idle client thread; see echod(8)).
echod_tunables=$(sed -n 's/^Environment=GLIBC_TUNABLES=//p' "./systemd/echod.service.in")
build=${1:-build}
runs=${RUNS:-5}
secs=${SECS:-3}
echod=$build/echod
bench=$build/echobench
[ -x "$echod" ] && [ -x "$bench" ] || { echo "build first: cmake --build $build" >&2; exit 1; }
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="port = $port
listen = {\"127.0.0.1\"}
max_clients = 4096
log_level = \"info\""
printf '%s\nudp_rate_per_source = 0\nfair_share = false\n' "$base" >"$tmp/off.conf"
{
	printf '%s\nudp_rate_per_source = 1000000000\nudp_rate_burst = 1000000000\n' "$base"
	printf 'connect_rate_per_source = 1000000000\nconnect_burst = 1000000000\n'
	printf 'fair_share = true\nmax_clients_per_source = 4096\ndeny = {'
	for i in $(seq 0 9999); do
		printf '%s"10.%d.%d.0/24"' "$([ "$i" -gt 0 ] && echo ,)" $((i / 256)) $((i % 256))
	done
	printf '}\n'
} >"$tmp/on.conf"

start() {
	GLIBC_TUNABLES=$echod_tunables "$echod" -c "$tmp/$1.conf" 2>"$tmp/$1.log" &
	pid=$!
	for _ in $(seq 100); do
		grep -q "listening on udp" "$tmp/$1.log" 2>/dev/null && return
		sleep 0.05
	done
	echo "echod did not start: $(cat "$tmp/$1.log")" >&2; exit 1
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }
rate() { sed -n 's/.*rate=\([0-9.]*\).*/\1/p'; }

scenarios=("udp -c 16 -s 64" "pingpong -c 50 -s 64" "connect -c 8 -s 16")
for sc in "${scenarios[@]}"; do
	for r in $(seq "$runs"); do
		for cfg in off on; do
			start "$cfg"
			# shellcheck disable=SC2086 # the scenario's words
			out=$("$bench" -p "$port" -m $sc -d "$secs")
			stop
			case $out in *status=ok*) ;; *) echo "FAIL $cfg $sc: $out" >&2; exit 1 ;; esac
			echo "$sc|$cfg|$(echo "$out" | rate)" >>"$tmp/raw"
		done
	done
done
printf '%-24s %12s %12s %8s  (median of %d, min-max)\n' scenario off on on/off "$runs"
for sc in "${scenarios[@]}"; do
	python3 - "$tmp/raw" "$sc" <<'PY'
import statistics, sys
rows = [l.strip().split("|") for l in open(sys.argv[1])]
sc = sys.argv[2]
v = {c: sorted(float(r[2]) for r in rows if r[0] == sc and r[1] == c) for c in ("off", "on")}
m = {c: statistics.median(v[c]) for c in v}
print(f"{sc:24s} {m['off']:12.0f} {m['on']:12.0f} {m['on']/m['off']:8.3f}  "
      f"off {v['off'][0]:.0f}-{v['off'][-1]:.0f}, on {v['on'][0]:.0f}-{v['on'][-1]:.0f}")
PY
done
