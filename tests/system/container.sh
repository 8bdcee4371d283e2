# shellcheck shell=bash
# Boot a Debian 12 container with real systemd as PID 1 under
# systemd-nspawn, run commands in it, power it off.  Sourced by run.sh.
#
# Works where the host's PID 1 is not systemd (no machined, no D-Bus):
# nspawn runs with --register=no --keep-unit in a cgroup of our own, and
# commands enter the container through nsenter on its PID 1.  Every PID
# kept here is one this script started; ct_stop() powers the container
# off, escalates only on those PIDs, and removes what it created.
#
# Functions: ct_check_host, ct_rootfs, ct_boot, ct_exec, ct_stop.
# Settings (environment):
#   ECHOD_TEST_CACHE   rootfs cache dir (/var/cache/echod-test)
#   CT_MAX_LIFETIME    hard cap on the container's life, seconds (600)
#   CT_CMD_TIMEOUT     cap on one command inside, seconds (60)

CT_SUITE=bookworm
# debootstrap --include: systemd as init, nc for the checks, echod's
# run-time dependencies so the .deb installs offline.
CT_INCLUDE=systemd,systemd-sysv,dbus,netcat-openbsd,procps,man-db,libconfuse2,libmicrohttpd12
CT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CT_TPID='' CT_NPID='' CT_LEADER='' CT_ROOT='' CT_NAME='' CT_CGS=()

# Why this host cannot boot a container, on stdout; nothing if it can.
ct_check_host() {
	local b
	[ "$(id -u)" = 0 ] || { echo "not root"; return; }
	for b in systemd-nspawn nsenter debootstrap zstd pgrep timeout; do
		command -v "$b" >/dev/null ||
		    { echo "$b not installed (.ci/packages-test)"; return; }
	done
	[ -e /sys/fs/cgroup/cgroup.controllers ] ||
	    [ -e /sys/fs/cgroup/unified/cgroup.controllers ] ||
	    { echo "no cgroup2 hierarchy mounted"; return; }
	[ -w /sys/fs/cgroup ] || [ -w /sys/fs/cgroup/unified ] ||
	    { echo "cgroup hierarchy not writable"; return; }
}

# The first non-security Debian URI of the host's apt sources (deb822
# first, then one-line).  Read at run time: no mirror is written down.
ct_mirror() {
	local m=
	if compgen -G '/etc/apt/sources.list.d/*.sources' >/dev/null; then
		m=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' \
		    /etc/apt/sources.list.d/*.sources | grep -v -- -security |
		    head -n1)
	fi
	if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
		m=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++)
		    if ($i ~ /^(https?|ftp|file):/) { print $i; exit } }' \
		    /etc/apt/sources.list)
	fi
	[ -n "$m" ] && printf '%s\n' "$m"
}

# Print the path of a cached minbase rootfs tarball, building it first if
# it is missing or older than 30 days.  The key covers suite, architecture
# and package list, so changing CT_INCLUDE builds a new one.  flock keeps
# two concurrent runs from building the same file.
ct_rootfs() {
	local dir=${ECHOD_TEST_CACHE:-/var/cache/echod-test} key tar build
	local mirror t0=$SECONDS
	key=$(printf '%s %s %s' "$CT_SUITE" "$(dpkg --print-architecture)" \
	    "$CT_INCLUDE" | md5sum | cut -c1-12)
	tar=$dir/rootfs-$CT_SUITE-$key.tar.zst
	mkdir -p "$dir"
	(
		flock -w 1200 9 || exit 1
		find "$dir" -maxdepth 1 -name "rootfs-$CT_SUITE-$key.tar.zst" \
		    -mtime +30 -delete
		[ -s "$tar" ] && exit 0
		mirror=$(ct_mirror) || { echo "no Debian mirror in the" \
		    "host's apt sources" >&2; exit 1; }
		build=$(mktemp -d "$dir/build.XXXXXX")
		echo "building rootfs ($CT_INCLUDE), cached as $tar" >&2
		if ! timeout 1200 debootstrap --variant=minbase \
		    --include="$CT_INCLUDE" "$CT_SUITE" "$build" "$mirror" \
		    >"$dir/debootstrap.log" 2>&1; then
			tail -n 20 "$dir/debootstrap.log" >&2
			rm -rf "$build"
			exit 1
		fi
		rm -f "$build"/var/cache/apt/archives/*.deb \
		    "$build"/var/cache/apt/*.bin
		# debootstrap copies the host's name; each boot makes its
		# own machine id.
		echo echod-test >"$build/etc/hostname"
		: >"$build/etc/machine-id"
		rm -f "$build/var/lib/dbus/machine-id"
		chmod 0755 "$build"	# mktemp made it 0700: it becomes /
		tar -C "$build" --numeric-owner --xattrs --acls \
		    -I 'zstd -T0 -3' -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
		rm -rf "$build"
		echo "rootfs built in $((SECONDS - t0)) s" >&2
	) 9>"$dir/.lock" || return 1
	printf '%s\n' "$tar"
}

# ct_boot TARBALL WORKDIR: unpack a private copy and boot it, network
# namespace with lo only (port 7 there is ours).  Returns once systemd
# inside reports running or degraded.
ct_boot() {
	local tar=$1 work=$2 h i state
	CT_NAME=echod-test-$$
	CT_ROOT=$work/root
	mkdir -p "$CT_ROOT"
	tar -C "$CT_ROOT" --numeric-owner --xattrs --acls -I zstd -xf "$tar"
	chmod 0755 "$CT_ROOT"
	# Our own cgroup on each hierarchy, so nspawn's payload does not
	# land in the host's root cgroup; removed by ct_stop.
	if [ -e /sys/fs/cgroup/cgroup.controllers ]; then
		CT_CGS=("/sys/fs/cgroup/$CT_NAME")
	else
		CT_CGS=()
		for h in systemd unified; do
			[ -d "/sys/fs/cgroup/$h" ] &&
			    CT_CGS+=("/sys/fs/cgroup/$h/$CT_NAME")
		done
	fi
	mkdir -p "${CT_CGS[@]}"
	# Pure cgroup v2 inside, whatever the host mixes.
	export SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1
	(
		for i in "${CT_CGS[@]}"; do echo "$BASHPID" >"$i/cgroup.procs"; done
		exec timeout -k 10 "${CT_MAX_LIFETIME:-600}" systemd-nspawn -q \
		    -b -D "$CT_ROOT" --machine="$CT_NAME" --register=no \
		    --keep-unit --console=read-only --private-network
	) </dev/null >"$work/console.log" 2>&1 &
	CT_TPID=$!
	# timeout -> systemd-nspawn -> systemd (the container's PID 1).
	for i in $(seq 200); do
		CT_NPID=$(pgrep -P "$CT_TPID" -x systemd-nspawn || true)
		[ -n "$CT_NPID" ] &&
		    CT_LEADER=$(pgrep -P "$CT_NPID" -x systemd || true)
		[ -n "$CT_LEADER" ] && break
		kill -0 "$CT_TPID" 2>/dev/null || break
		sleep 0.1
	done
	if [ -z "$CT_LEADER" ]; then
		echo "container did not start:" >&2
		cat "$work/console.log" >&2
		return 1
	fi
	# systemctl needs the manager's private socket.
	for i in $(seq 200); do
		nsenter -t "$CT_LEADER" -a test -S /run/systemd/private && break
		sleep 0.1
	done
	state=$(ct_exec systemctl is-system-running --wait || true)
	case $state in
	running|degraded) ;;
	*)
		echo "container state '$state'" >&2
		ct_exec systemctl --failed --no-pager >&2 || true
		return 1 ;;
	esac
}

# Run a command inside: every namespace of the container's PID 1, a clean
# environment, bounded by CT_CMD_TIMEOUT.
ct_exec() {
	timeout -k 5 "${CT_CMD_TIMEOUT:-60}" nsenter -t "$CT_LEADER" -a \
	    env -i PATH=$CT_PATH LANG=C.UTF-8 TERM=dumb \
	    DEBIAN_FRONTEND=noninteractive SYSTEMD_PAGER= SYSTEMD_COLORS=0 "$@"
}

# Power off (escalating to SIGTERM, then SIGKILL of our own nspawn), wait,
# and remove the cgroups and the unpacked root.  Safe to call twice.
ct_stop() {
	local cg
	if [ -n "$CT_TPID" ] && kill -0 "$CT_TPID" 2>/dev/null; then
		if [ -n "$CT_LEADER" ]; then
			timeout 15 nsenter -t "$CT_LEADER" -a \
			    systemctl --no-block poweroff 2>/dev/null ||
			    kill -s SIGRTMIN+4 "$CT_LEADER" 2>/dev/null || true
		fi
		if ! timeout 30 tail --pid="$CT_TPID" -f /dev/null; then
			[ -n "$CT_NPID" ] && kill -TERM "$CT_NPID" 2>/dev/null
			timeout 10 tail --pid="$CT_TPID" -f /dev/null ||
			    kill -KILL "$CT_TPID" ${CT_NPID:+"$CT_NPID"} \
			    2>/dev/null || true
		fi
	fi
	[ -n "$CT_TPID" ] && { wait "$CT_TPID" 2>/dev/null || true; }
	CT_TPID=
	for cg in "${CT_CGS[@]}"; do
		[ -d "$cg" ] && find "$cg" -depth -type d -exec rmdir {} + \
		    2>/dev/null
	done
	CT_CGS=()
	[ -n "$CT_NAME" ] && rm -rf "/run/systemd/nspawn/propagate/$CT_NAME"
	[ -n "$CT_ROOT" ] && rm -rf "$CT_ROOT"
	CT_ROOT=
}
