#!/bin/bash
# System test: the echod .deb in a booted Debian 12 (systemd as PID 1 under
# systemd-nspawn, network namespace with lo only).  Installs the package,
# then checks readiness, TCP/UDP echo on port 7, STAMP on port 862, reload with a client
# connected, a broken config on reload, journal priorities and MESSAGE_IDs,
# a drop-in moving the config, the watchdog restarting a stopped daemon,
# the echod@ template, a clean fast stop, socket activation without capabilities, the two ways excluding
# each other, upgrade, remove and purge (inside.sh has the checks).
#
# Usage: run.sh [DEB]
#   Without DEB it uses $ECHOD_DEB if set, else builds the package with
#   .ci/deb (dpkg-buildpackage, tests skipped: ctest runs them already).
# Exit: 0 passed, 1 failed, 77 skipped (not root, no systemd-nspawn, no
# cgroup2, no rootfs); ECHOD_SYSTEM_TEST=require turns a skip into a failure
# (CI sets it: there this test must really run).
# The rootfs is built once with debootstrap from the host's apt mirror and
# cached (see container.sh); a cached run takes well under a minute.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/system/container.sh
. "$here/container.sh"

t0=$SECONDS
log() { echo "[system +$((SECONDS - t0))s] $*"; }
skip() {
	if [ "${ECHOD_SYSTEM_TEST:-}" = require ]; then
		echo "FAIL: system test required but cannot run: $*"
		exit 1
	fi
	echo "SKIPPED: $*"
	exit 77
}

why=$(ct_check_host)
[ -z "$why" ] || skip "$why"

# Leftovers of runs killed hard (a CTest timeout): their containers died
# with CT_MAX_LIFETIME long ago.  rmdir only removes empty cgroups.
find /var/tmp -maxdepth 1 -name 'echod-systest.*' -mmin +30 \
    -exec rm -rf {} + 2>/dev/null || true
find /sys/fs/cgroup /sys/fs/cgroup/systemd /sys/fs/cgroup/unified \
    -maxdepth 1 -name 'echod-test-*' -mmin +30 -exec rmdir {} + \
    2>/dev/null || true

work=$(mktemp -d /var/tmp/echod-systest.XXXXXX)
# The trap may run while a step's output is redirected: fds 3 and 4 keep
# the test's own stdout and stderr.
exec 3>&1 4>&2
trap 'rc=$?; ct_stop 2>&4; rm -rf "$work"; log "done (exit $rc)" >&3
    exit $rc' EXIT
trap 'exit 130' INT TERM HUP

deb=${1:-${ECHOD_DEB:-}}
if [ -z "$deb" ]; then
	command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null ||
	    skip "dpkg-dev and debhelper not installed (.ci/packages-test)"
	DEB_BUILD_OPTIONS=nocheck bash "$here/../../.ci/deb" "$work/pkg" \
	    >"$work/deb.log" 2>&1 ||
	    { cat "$work/deb.log"; echo "FAIL: .ci/deb"; exit 1; }
	deb=$(ls "$work"/pkg/echod_*_*.deb | grep -v -- -dbgsym_)
	log "built $(basename "$deb") in $((SECONDS - t0)) s"
fi
log "package $(basename "$deb")"

tar=$(ct_rootfs) || skip "cannot build the Debian 12 rootfs (above)"
log "rootfs $tar"
export CT_MAX_LIFETIME=600
ct_boot "$tar" "$work" || { echo "FAIL: container did not boot"; exit 1; }
log "container booted (PID 1 is host pid $CT_LEADER)"

# /var/tmp: /tmp is a tmpfs inside, and apt's _apt user must read the .deb.
install -d -m 0755 "$CT_ROOT/var/tmp/echod-test"
install -m 0644 "$deb" "$CT_ROOT/var/tmp/echod-test/"
install -m 0755 "$here/inside.sh" "$CT_ROOT/var/tmp/echod-test/"

passed=0 failed=0
step() {
	local s=$SECONDS rc=0
	CT_CMD_TIMEOUT=$2 ct_exec bash /var/tmp/echod-test/inside.sh "$1" \
	    >"$work/step.log" 2>&1 || rc=$?
	sed 's/^/    /' "$work/step.log"
	if [ "$rc" = 0 ]; then
		passed=$((passed + 1))
		log "PASS $1 ($((SECONDS - s)) s)"
	else
		failed=$((failed + 1))
		log "FAIL $1 (exit $rc)"
		ct_exec journalctl --no-pager -n 30 -u echod.service \
		    -u echod.socket -u echod-activated.service \
		    -u echod@lab.service 2>&1 |
		    sed 's/^/    journal: /' || true
	fi
	return "$rc"
}

step install 300 || { echo "$passed passed, $failed failed"; exit 1; }
for s in verify start echo stamp reload dropin watchdog template warning badstart \
    stop socket upgrade remove; do
	step "$s" 120 || true
done
# Purge only proves "no trace" after a clean remove.
if [ "$failed" = 0 ]; then step purge 60 || true; fi

t1=$SECONDS
ct_stop
log "container powered off in $((SECONDS - t1)) s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
