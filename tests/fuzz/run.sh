#!/usr/bin/env bash
# One libFuzzer target as a CTest test (label "fuzz"):
#   run.sh BIN CORPUS CRASHES WORK replay
#       every committed input once (the seed corpus and every crash ever
#       found, as regression inputs); any crash, leak or timeout fails;
#   run.sh BIN CORPUS CRASHES WORK fuzz SECONDS [libFuzzer flags...]
#       fuzz for SECONDS from those inputs; new ones go to WORK/corpus (the
#       committed directories are only read), and a crash fails the test
#       and leaves its input in WORK/artifacts/.
set -euo pipefail
[ $# -ge 5 ] || { echo "usage: run.sh BIN CORPUS CRASHES WORK replay|fuzz [SECONDS [flags]]" >&2; exit 64; }
bin=$1 corpus=$2 crashes=$3 work=$4 mode=$5
shift 5
mkdir -p "$work/corpus" "$work/artifacts"
common=(-artifact_prefix="$work/artifacts/" -timeout=10 -rss_limit_mb=2048
    -error_exitcode=1 -timeout_exitcode=1)

# A seed corpus is committed for every target; crashes/ may not exist yet.
[ -n "$(find "$corpus" -type f -print -quit 2>/dev/null)" ] ||
    { echo "FAIL: no seed inputs in $corpus" >&2; exit 1; }
dirs=("$corpus")
[ -d "$crashes" ] && dirs+=("$crashes")

status=0
case $mode in
replay)
	mapfile -t inputs < <(find "${dirs[@]}" -type f | sort)
	echo "replaying ${#inputs[@]} inputs"
	"$bin" "${common[@]}" "${inputs[@]}" || status=$? ;;
fuzz)
	[ $# -ge 1 ] || { echo "run.sh: fuzz needs SECONDS" >&2; exit 64; }
	seconds=$1
	shift
	# The first directory is the one libFuzzer writes to.
	"$bin" "${common[@]}" -max_total_time="$seconds" -print_final_stats=1 \
	    "$@" "$work/corpus" "${dirs[@]}" || status=$? ;;
*)
	echo "run.sh: unknown mode $mode" >&2; exit 64 ;;
esac
if [ "$status" -ne 0 ]; then
	# replay names the committed input above; fuzz saved a new one here.
	echo "FAIL: $(basename "$bin") $mode exited $status; new inputs in $work/artifacts:" >&2
	ls -l "$work/artifacts" >&2
fi
exit "$status"
