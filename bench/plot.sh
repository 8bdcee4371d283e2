#!/usr/bin/env bash
# Plots from the raw lines of bench/edge.sh: bash bench/plot.sh RESULTS [DIR]
#   DIR/bench-throughput.png  median rate per scenario, relative to naive C
#   DIR/bench-p99.png         median p99 latency per scenario and peer
#   DIR/bench-pss.png         PSS per held client against clients held
# Also prints the median table (median, min-max) on stdout.
set -euo pipefail
in=$1
dir=${2:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/docs}
tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT

# peer scen key -> "median min max" over the runs
stat() {
	awk -v p="$1" -v s="$2" -v k="$3" '
	{ ok = 0; v = ""
	  for (i = 1; i <= NF; i++) {
		split($i, kv, "=")
		if (kv[1] == "peer" && kv[2] == p) ok++
		if (kv[1] == "scen" && kv[2] == s) ok++
		if (kv[1] == k) v = kv[2]
	  }
	  if (ok == 2 && v != "") print v }' "$in" | sort -g |
	    awk '{ a[NR] = $1 } END { if (NR == 0) { print "- - -"; exit }
		m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
		print m, a[1], a[NR] }'
}

peers=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^peer=/) print substr($i, 6) }' "$in" | awk '!s[$0]++')
scens="udp-flood-64x64 udp-flood-gso-64x64 udp-pingpong-64 pingpong-1x64 pingpong-50x64 stream-16x16k connect-8x16"
printf '%-18s' scenario
for p in $peers; do printf ' %-28s' "$p"; done
printf '\n'
: >"$tmp/tput" ; : >"$tmp/p99"
for s in $scens burst-10k; do
	key=rate; [[ $s == burst-10k ]] && key=connect_s
	printf '%-18s' "$s"
	line="$s"; pline="$s"
	read -r base _ _ < <(stat naive "$s" "$key")
	for p in $peers; do
		read -r m lo hi < <(stat "$p" "$s" "$key")
		printf ' %-28s' "$m ($lo-$hi)"
		if [[ $m != - && $base != - && $key == rate ]]; then
			line="$line $(awk -v a="$m" -v b="$base" 'BEGIN { print a / b }')"
		else
			line="$line 0"
		fi
		read -r q _ _ < <(stat "$p" "$s" p99_us)
		pline="$pline ${q/-/0}"
	done
	printf '\n'
	[[ $key == rate ]] && { echo "$line" >>"$tmp/tput"; echo "$pline" >>"$tmp/p99"; }
done
for s in burst-10k; do
	for k in slow_connects accept_queue_max srv_cpu; do
		printf '%-18s' "$s:$k"
		for p in $peers; do
			read -r m lo hi < <(stat "$p" "$s" "$k")
			printf ' %-28s' "$m ($lo-$hi)"
		done
		printf '\n'
	done
done
# The server's CPU per operation (edge.sh's srv_us_per_op: the op= of
# each scenario), and on the stream the ratio of echod to naive C.
printf 'server CPU per operation, microseconds\n'
for s in $scens burst-10k hold; do
	printf '%-18s' "$s"
	for p in $peers; do
		read -r m lo hi < <(stat "$p" "$s" srv_us_per_op)
		printf ' %-28s' "$m ($lo-$hi)"
	done
	printf '\n'
done
read -r e _ _ < <(stat echod stream-16x16k srv_us_per_op)
read -r n _ _ < <(stat naive stream-16x16k srv_us_per_op)
if [[ $e != - && $n != - ]]; then
	printf 'server CPU per 16 KiB echoed (stream-16x16k): echod %s us, naive %s us, echod/naive %s\n' \
	    "$e" "$n" "$(awk -v a="$e" -v b="$n" 'BEGIN { printf "%.2f", a / b }')"
fi
: >"$tmp/pss"
for p in $peers; do
	awk -v p="$p" '$0 ~ "peer=" p " " && /scen=hold/ {
		for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
		print f["clients"], f["pss_per_client_kb"] }' "$in" | sort -k1,1n -k2,2g |
	    awk 'function out() { if (n) print c, (n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2) }
		$1 != c { out(); c = $1; n = 0 } { a[++n] = $2 } END { out() }' |
	    sort -n >"$tmp/pss.$p"
	printf 'hold PSS/client KiB %-8s' "$p"; tr '\n' ' ' <"$tmp/pss.$p"; printf '\n'
done

cols=$(echo "$peers" | wc -w)
using=""; i=2
for p in $peers; do using="$using${using:+, }'' using $i title '$p'"; i=$((i + 1)); done
gnuplot <<GP
set terminal pngcairo size 900,480 font ",10"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set xtics rotate by -20
set grid ytics
set output "$dir/bench-throughput.png"
set title "median throughput relative to the naive C server (1.0), 2 cores, loopback"
set ylabel "x naive C"
plot "$tmp/tput" using 2:xtic(1) title '$(echo $peers | cut -d' ' -f1)' $(i=3; for p in $(echo $peers | cut -d' ' -f2-); do printf ", '' using %d title '%s'" $i "$p"; i=$((i + 1)); done)
set output "$dir/bench-p99.png"
set title "median p99 latency per scenario (lower is better)"
set ylabel "p99, microseconds"
set logscale y
plot "$tmp/p99" using 2:xtic(1) title '$(echo $peers | cut -d' ' -f1)' $(i=3; for p in $(echo $peers | cut -d' ' -f2-); do printf ", '' using %d title '%s'" $i "$p"; i=$((i + 1)); done)
unset logscale y
set style data linespoints
set output "$dir/bench-pss.png"
set title "PSS per held TCP client (each echoes 16 B once a second)"
set xlabel "clients held"
set ylabel "KiB per client"
set yrange [0:*]
set xtics norotate
plot $(for p in $peers; do [ -s "$tmp/pss.$p" ] && printf "'%s' using 1:2 title '%s', " "$tmp/pss.$p" "$p"; done) 8 with lines dt 2 title 'goal: 8 KiB'
GP
echo "plots in $dir" >&2
