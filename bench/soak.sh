#!/usr/bin/env bash
# Soak: run echod under mixed load for a given time, every byte verified,
# and fail if it grows.
#
#   bash bench/soak.sh [SECONDS]        (default 600; CI runs 60)
#
# Load, all at once for the whole run (bench/echobench, every echoed byte
# compared with what was sent):
#   connect/close churn   4 workers: connect, 64 B, read it back, close
#   streaming             2 connections writing 64 KiB chunks, reading back
#   ping-pong            16 connections, 64 B messages
#   UDP                   2 sockets, 512 B datagram ping-pong
# Every INTERVAL seconds it samples the daemon's RSS, descriptors and
# threads from /proc.  It fails (exit 1) if:
#   - any load generator reports a mismatch, a reset or a timeout;
#   - a resource grows across the run: the peak of the second half of the
#     samples above the peak of the first half by more than the tolerance
#     (RSS: RSS_TOL_PCT percent or RSS_TOL_KIB, whichever is larger;
#     descriptors and threads: COUNT_TOL each, since a sample may catch
#     sessions of the churn that are still closing: 20 to 36 threads were
#     seen in one 10-minute run).  The first sample is the
#     warm-up (arenas, stacks being cached) and is left out;
#   - 5 s after the load stops, descriptors or threads are not back to the
#     idle figures measured before it, or the daemon's counters disagree
#     (bytes in != bytes out, clients left).
# Exit 2 is a setup problem.  Environment: ECHOD (default build/echod),
# ECHOBENCH (default build/echobench, else compiled here), INTERVAL=10,
# RSS_TOL_PCT=10, RSS_TOL_KIB=4096, COUNT_TOL=32, KEEP=1 keeps the work dir.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# echod runs with the shipped unit's environment (GLIBC_TUNABLES: one
# stack page per idle client thread; see echod(8)).
echod_tunables=$(sed -n 's/^Environment=GLIBC_TUNABLES=//p' "$root/systemd/echod.service.in")
SECONDS_TOTAL=${1:-600}
ECHOD=${ECHOD:-$root/build/echod}
ECHOBENCH=${ECHOBENCH:-$root/build/echobench}
INTERVAL=${INTERVAL:-10}
RSS_TOL_PCT=${RSS_TOL_PCT:-10}
RSS_TOL_KIB=${RSS_TOL_KIB:-4096}
COUNT_TOL=${COUNT_TOL:-32}
KEEP=${KEEP:-0}

say() { printf '[soak] %s\n' "$*"; }
die() { printf '[soak] error: %s\n' "$*" >&2; exit 2; }

for v in SECONDS_TOTAL INTERVAL RSS_TOL_PCT RSS_TOL_KIB COUNT_TOL; do
	[[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number (got '${!v}')"
done
((SECONDS_TOTAL >= 3 * INTERVAL && SECONDS_TOTAL <= 86400)) ||
	die "SECONDS must be 3*INTERVAL..86400 (got $SECONDS_TOTAL)"
[[ -x $ECHOD ]] || die "no echod binary at $ECHOD (build first, or set ECHOD)"

work=$(mktemp -d "${TMPDIR:-/tmp}/echod-soak.XXXXXX")
daemon=""
loads=()
cleanup() {
	local p
	for p in "${loads[@]}"; do kill "$p" 2>/dev/null || true; done
	if [[ -n $daemon ]]; then
		kill -TERM "$daemon" 2>/dev/null || true
		wait "$daemon" 2>/dev/null || true
	fi
	if [[ $KEEP = 1 ]]; then say "kept $work"; else rm -rf -- "$work"; fi
}
trap cleanup EXIT

if [[ ! -x $ECHOBENCH ]]; then
	ECHOBENCH=$work/echobench
	"${CC:-cc}" -std=c17 -O2 -Wall -Wextra -pthread -o "$ECHOBENCH" \
	    "$here/echobench.c" || die "cannot build echobench"
fi

# A port outside the ephemeral range, so the churn's own source ports never
# collide with it; ss tells whether it is taken.
read -r eph_lo eph_hi </proc/sys/net/ipv4/ip_local_port_range
if ((eph_lo > 12000)); then lo=10000 hi=$((eph_lo - 1)); else lo=$((eph_hi + 1)) hi=65535; fi
port=""
for ((i = 0; i < 200; i++)); do
	p=$((lo + RANDOM % (hi - lo + 1)))
	[[ -n $(ss -Htuan "( sport = :$p )") ]] || { port=$p; break; }
done
[[ -n $port ]] || die "no free port found in 200 tries"

# Shipped defaults except the UDP rate limit: one source doing tens of
# thousands of ping-pongs a second is the load here, not an attack.
cat >"$work/echod.conf" <<EOF
port = $port
listen = { "127.0.0.1" }
udp_rate_per_source = 0
EOF
GLIBC_TUNABLES=$echod_tunables "$ECHOD" -c "$work/echod.conf" 2>"$work/echod.log" &
daemon=$!
for ((i = 0; i < 100; i++)); do
	grep -q 'echod: started (' "$work/echod.log" && break
	kill -0 "$daemon" 2>/dev/null || { cat "$work/echod.log" >&2; die "echod exited at start"; }
	sleep 0.05
done
grep -q 'echod: started (' "$work/echod.log" || die "echod did not start in 5 s"

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$daemon/status"; }
threads() { awk '/^Threads:/ { print $2 }' "/proc/$daemon/status"; }
fds() { local f=(/proc/"$daemon"/fd/*); echo "${#f[@]}"; }
sample() { echo "$(rss_kib) $(fds) $(threads)"; }

read -r idle_rss idle_fds idle_threads <<<"$(sample)"
say "echod pid $daemon port $port, ${SECONDS_TOTAL}s, sample every ${INTERVAL}s"
say "idle: rss_kib=$idle_rss fds=$idle_fds threads=$idle_threads"

bench() { # name args...
	local name=$1
	shift
	"$ECHOBENCH" -p "$port" -d "$SECONDS_TOTAL" -S "$RANDOM" "$@" \
	    >"$work/$name.out" 2>"$work/$name.err" &
	loads+=("$!")
	names+=("$name")
}
names=()
bench churn -m connect -c 4 -s 64
bench stream -m bulk -c 2 -s 65536
bench pingpong -m pingpong -c 16 -s 64
bench udp -m udp -c 2 -s 512 -u 1000

printf '%8s %10s %6s %8s\n' t_s rss_kib fds threads | tee "$work/samples"
samples=()
start=$(date +%s)
next=$((start + INTERVAL))
while :; do
	now=$(date +%s)
	((now - start < SECONDS_TOTAL)) || break
	if ((now < next)); then sleep 0.5; continue; fi
	kill -0 "$daemon" 2>/dev/null || { cat "$work/echod.log" >&2; say "FAIL: echod died"; exit 1; }
	s=$(sample)
	samples+=("$s")
	read -r r f t <<<"$s"
	printf '%8d %10d %6d %8d\n' $((now - start)) "$r" "$f" "$t" | tee -a "$work/samples"
	next=$((next + INTERVAL))
done

fail=0
for i in "${!loads[@]}"; do
	rc=0
	wait "${loads[$i]}" || rc=$?
	say "${names[$i]}: $(cat "$work/${names[$i]}.out") (exit $rc)"
	if ((rc != 0)); then
		sed 's/^/[soak]   /' "$work/${names[$i]}.err"
		fail=1
	fi
done
loads=()

# Growth: peak of the later half against the peak of the earlier half.
n=${#samples[@]}
((n >= 3)) || { say "FAIL: only $n samples"; exit 1; }
half=$(((n - 1) / 2 + 1))
peak() { # from to column
	local i m=0 v
	for ((i = $1; i < $2; i++)); do
		v=$(awk -v c="$3" '{ print $c }' <<<"${samples[$i]}")
		((v > m)) && m=$v
	done
	echo "$m"
}
check_growth() { # label column tolerance
	local a b
	a=$(peak 1 "$half" "$2")
	b=$(peak "$half" "$n" "$2")
	if ((b > a + $3)); then
		say "FAIL: $1 grew: peak $a in the first half, $b in the second (tolerance $3)"
		fail=1
	else
		say "ok: $1 peak $a then $b (tolerance $3)"
	fi
}
first_rss=$(peak 1 "$half" 1)
rss_tol=$((first_rss * RSS_TOL_PCT / 100))
((rss_tol > RSS_TOL_KIB)) || rss_tol=$RSS_TOL_KIB
check_growth rss_kib 1 "$rss_tol"
check_growth fds 2 "$COUNT_TOL"
check_growth threads 3 "$COUNT_TOL"

# Back to idle once every client is gone.
for ((i = 0; i < 50; i++)); do
	read -r r f t <<<"$(sample)"
	((f == idle_fds && t == idle_threads)) && break
	sleep 0.1
done
if ((f != idle_fds || t != idle_threads)); then
	say "FAIL: after the load fds=$f threads=$t, idle was fds=$idle_fds threads=$idle_threads"
	fail=1
else
	say "ok: back to idle: rss_kib=$r fds=$f threads=$t"
fi

# The daemon's own account: everything it read it wrote back.
lines=$(grep -c 'echod: stats:' "$work/echod.log" || true)
kill -USR1 "$daemon"
for ((i = 0; i < 50; i++)); do
	(($(grep -c 'echod: stats:' "$work/echod.log" || true) > lines)) && break
	sleep 0.1
done
stats=$(grep 'echod: stats:' "$work/echod.log" | tail -n 1)
[[ -n $stats ]] || { say "FAIL: no stats line after SIGUSR1"; exit 1; }
stat() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<" ${stats#*stats:}"; }
say "stats: accepted=$(stat tcp_accepted) tcp_bytes=$(stat tcp_bytes_in) udp_datagrams=$(stat udp_datagrams_in)"
if [[ $(stat tcp_bytes_in) != "$(stat tcp_bytes_out)" || $(stat udp_bytes_in) != "$(stat udp_bytes_out)" ||
	$(stat tcp_clients) != 0 || -z $(stat tcp_accepted) ]]; then
	say "FAIL: counters disagree: $stats"
	fail=1
fi
if ((fail)); then say "FAIL"; exit 1; fi
say "PASS: ${SECONDS_TOTAL}s, every byte verified, nothing grew"
