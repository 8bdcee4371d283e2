#!/bin/bash
# Hardening regression check: `systemd-analyze security --offline` of the
# units configured in a build tree must stay at or under the exposure
# limits (0-10 scale; --threshold takes tenths):
#   echod.service            1.5  (binds port 7 itself: network, one capability)
#   echod-activated.service  0.5  (socket-activated: no capability, no network)
#   echod@.service           1.5  (the template: echod.service's sandbox)
# Usage: security.sh UNITDIR (build/systemd).  Exit 0, 1, or 77 if
# systemd-analyze is missing (ECHOD_SYSTEM_TEST=require makes that 1).
set -euo pipefail

dir=${1:?usage: security.sh UNITDIR}
if ! command -v systemd-analyze >/dev/null; then
	[ "${ECHOD_SYSTEM_TEST:-}" = require ] &&
	    { echo "FAIL: systemd-analyze not installed"; exit 1; }
	echo "SKIPPED: systemd-analyze not installed (package systemd)"
	exit 77
fi

failed=0
check() {	# check UNIT THRESHOLD_IN_TENTHS
	local out rc=0 limit=$(($2 / 10)).$(($2 % 10))
	out=$(systemd-analyze security --offline=yes --no-pager \
	    --threshold="$2" "$dir/$1" 2>&1) || rc=$?
	if [ "$rc" = 0 ]; then
		echo "ok: $(printf '%s\n' "$out" | grep 'Overall exposure') (limit $limit)"
	else
		printf '%s\n' "$out" | grep -v '^✓'
		echo "FAIL: $1 exposure above $limit (rc $rc)"
		failed=1
	fi
}
check echod.service 15
check echod-activated.service 5
check echod@.service 15
exit "$failed"
