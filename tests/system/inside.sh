#!/bin/bash
# Checks that run inside the test container, one step per call:
#   inside.sh STEP     (run.sh copies this file and the .deb to /var/tmp/echod-test)
# Each step prints "ok: ..." per check and exits non-zero at the first
# failure with "FAIL: ...".  Steps leave the system as the next one expects;
# run.sh calls them in the order of the case at the bottom.
set -euo pipefail

DIR=/var/tmp/echod-test
CONF=/etc/echod/echod.conf

ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; exit 1; }

# One TCP or UDP round trip on port 7; prints the reply.
echo_tcp() { printf '%s\n' "$2" | nc -N -w 3 "$1" 7; }
echo_udp() { printf '%s\n' "$2" | nc -u -w 1 "$1" 7; }

expect_echo() {	# expect_echo tcp|udp ADDRESS
	local got want="$1-$2-$$-$RANDOM"
	got=$("echo_$1" "$2" "$want" || true)
	[ "$got" = "$want" ] || fail "$1 echo via $2: got '$got'"
	ok "$1 echo via $2"
}

prop() { systemctl show -p "$2" --value "$1"; }

expect_state() {	# expect_state UNIT active|inactive|failed
	local s
	s=$(systemctl is-active "$1" || true)
	[ "$s" = "$2" ] || fail "$1 is $s, expected $2"
	ok "$1 $2"
}

# Journal entries since mark_journal.  A timestamp, not a cursor: with a
# match (-u, -p) journalctl 252 --after-cursor skips the first entry that
# matches when the cursor's own entry does not.
mark_journal() { date '+%Y-%m-%d %H:%M:%S.%6N' >"$DIR/mark"; }
journal_since() { journalctl --no-pager -q --since="$(cat "$DIR/mark")" "$@"; }

# Put the shipped config back (a failed step must not break the next ones).
restore_conf() {
	if [ -f "$DIR/echod.conf.orig" ]; then
		cp "$DIR/echod.conf.orig" "$CONF"
		rm -f "$DIR/echod.conf.orig"
		systemctl reset-failed echod.service 2>/dev/null || true
		systemctl restart echod.service || true
	fi
}

# Wait up to 5 s for a journal line of UNIT matching a regex.
wait_journal() {	# wait_journal UNIT REGEX [journalctl args]
	local unit=$1 re=$2
	shift 2
	for _ in $(seq 50); do
		journal_since -u "$unit" -o cat "$@" | grep -Eq -- "$re" && return 0
		sleep 0.1
	done
	fail "no journal line /$re/ for $unit"
}

# The MESSAGE_ID of the catalog entry whose Subject: matches a regex
# (the installed catalog, so the test reads the IDs the package ships).
event_id() {
	awk -v re="$1" '/^-- [0-9a-f]+$/ && length($2) == 32 { id = $2 }
	    /^Subject:/ && $0 ~ re { print id; exit }' \
	    /usr/lib/systemd/catalog/echod.catalog
}

# expect_event UNIT SUBJECT_RE TEXT_RE: since mark_journal, UNIT logged a
# line matching TEXT_RE with the MESSAGE_ID of that catalog entry.
expect_event() {
	local id
	id=$(event_id "$2")
	[ -n "$id" ] || fail "no catalog entry /$2/"
	wait_journal "$1" "$3" "MESSAGE_ID=$id"
	ok "journal: '$3' carries MESSAGE_ID=$id"
}

# What a package could leave behind: /etc, /usr, /var/lib less dpkg's and
# apt's own books, and journal/log data.
snapshot() {
	find /etc /usr /var/lib -xdev \( -path /var/lib/dpkg -o \
	    -path /var/lib/apt -o -path /var/lib/systemd/catalog -o \
	    -path /var/lib/systemd/timers -o -path /var/lib/systemd/coredump \
	    -o -path /var/lib/ucf \) -prune -o -print | sort
}

step_install() {
	snapshot >"$DIR/before.list"
	apt-get install -y --no-install-recommends "$DIR"/echod_*.deb \
	    >"$DIR/apt.log" 2>&1 || { cat "$DIR/apt.log"; fail "apt-get install"; }
	ok "apt-get install ./echod_*.deb"
	dpkg-query -W -f='${Conffiles}\n' echod | grep -q "^ $CONF " ||
	    fail "$CONF is not a conffile"
	ok "$CONF is a conffile"
	for f in /usr/share/man/man8/echod.8.gz /usr/share/man/man5/echod.conf.5.gz; do
		dpkg -L echod | grep -qx "$f" || fail "package lacks $f"
	done
	ok "man pages installed"
	[ "$(systemctl is-enabled echod.service)" = enabled ] ||
	    fail "postinst did not enable echod.service"
	expect_state echod.service active
	[ "$(systemctl is-enabled echod.socket)" = disabled ] ||
	    fail "echod.socket should stay disabled"
	ok "echod.socket disabled"
	[ -f /lib/systemd/system/echod@.service ] || fail "no echod@.service"
	[ -f /usr/lib/systemd/catalog/echod.catalog ] || fail "no catalog"
	# systemd's dpkg trigger rebuilt the index: journalctl knows it.
	journalctl --dump-catalog "$(event_id 'started')" | grep -q 'echod started' ||
	    fail "catalog not in journalctl's index"
	ok "echod@.service and the journal catalog installed (journalctl -x)"
}

step_verify() {
	local out
	out=$(systemd-analyze verify echod.service echod.socket \
	    echod-activated.service echod@lab.service 2>&1) || fail "systemd-analyze verify: $out"
	[ -z "$out" ] || fail "systemd-analyze verify says: $out"
	ok "systemd-analyze verify: clean (man pages resolve)"
}

step_start() {
	local pid t0 state got
	systemctl stop echod.service
	expect_state echod.service inactive
	mark_journal
	# Type=notify: start returns once READY=1 came, which echod sends only
	# after every socket listens, so the very first connection must work.
	systemctl start echod.service
	state=$(prop echod.service ActiveState)/$(prop echod.service SubState)
	got=$(echo_tcp 127.0.0.1 first || true)
	[ "$state" = active/running ] || fail "after start: $state"
	[ "$got" = first ] || fail "first connection right after start: '$got'"
	ok "start returns active/running, first connection answered"
	[ "$(prop echod.service Type)" = notify ] || fail "Type is not notify"
	[ "$(journal_since -u echod.service -o cat | grep -c 'listening on')" = 4 ] ||
	    fail "expected 4 'listening on' lines"
	ok "4 sockets listening before READY"
	expect_event echod.service 'started' '^started '
	journal_since -u echod.service -x "MESSAGE_ID=$(event_id started)" |
	    grep -q 'Subject: echod started and serves' ||
	    fail "journalctl -x shows no catalog text"
	ok "journalctl -x explains the start"
	pid=$(prop echod.service MainPID)
	grep -q '^CapEff:[[:space:]]*0000000000000400$' "/proc/$pid/status" ||
	    fail "CapEff is not CAP_NET_BIND_SERVICE alone: $(grep CapEff "/proc/$pid/status")"
	grep -q '^CapBnd:[[:space:]]*0000000000000400$' "/proc/$pid/status" ||
	    fail "CapBnd is not CAP_NET_BIND_SERVICE alone"
	[ "$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")" != 0 ] ||
	    fail "runs as root"
	ok "runs as uid $(stat -c %u "/proc/$pid") (DynamicUser) with CAP_NET_BIND_SERVICE only"
	# The unit gives the daemon's exec its GLIBC_TUNABLES (one stack page
	# per idle client thread).  Its environ is not readable here: the
	# container's root may not ptrace a DynamicUser process.
	case " $(prop echod.service Environment) " in
	*" GLIBC_TUNABLES=glibc.rtld.nns=1:glibc.rtld.optional_static_tls=0 "*) ;;
	*) fail "the service has no GLIBC_TUNABLES: '$(prop echod.service Environment)'" ;;
	esac
	ok "runs with the unit's GLIBC_TUNABLES"
	for t0 in $(seq 30); do
		case $(prop echod.service StatusText) in
		*"TCP clients"*datagrams*) break ;;
		esac
		sleep 0.1
	done
	[ "$t0" -lt 30 ] || fail "no STATUS= text: '$(prop echod.service StatusText)'"
	ok "status: $(prop echod.service StatusText)"
}

step_echo() {
	expect_echo tcp 127.0.0.1
	expect_echo tcp ::1
	expect_echo udp 127.0.0.1
	expect_echo udp ::1
	head -c 1048576 /dev/urandom >"$DIR/blob"
	nc -N -w 5 127.0.0.1 7 <"$DIR/blob" | cmp -s - "$DIR/blob" ||
	    fail "1 MiB over TCP came back different"
	ok "1 MiB over TCP echoed byte for byte"
}

# STAMP: stamp = true in the shipped unit's config serves UDP port 862 (the
# unit's CAP_NET_BIND_SERVICE), and a 44-octet test packet comes back 44
# octets long with its Sequence Number copied at offset 24 (RFC 8762 §4.3.1).
step_stamp() {
	local out
	cp "$CONF" "$DIR/echod.conf.orig"
	trap restore_conf EXIT
	printf '\nstamp = true\n' >>"$CONF"
	mark_journal
	systemctl restart echod.service
	wait_journal echod.service 'listening on stamp 0\.0\.0\.0:862'
	wait_journal echod.service 'listening on stamp \[::\]:862'
	ok "echod.service serves STAMP on port 862"
	{ printf '\000\000\022\064'; head -c 40 /dev/zero; } >"$DIR/stamp.req"
	for addr in 127.0.0.1 ::1; do
		nc -u -w 1 "$addr" 862 <"$DIR/stamp.req" >"$DIR/stamp.rep" || true
		[ "$(stat -c %s "$DIR/stamp.rep")" = 44 ] ||
		    fail "STAMP via $addr: $(stat -c %s "$DIR/stamp.rep") octets back"
		out=$(od -An -tx1 -j24 -N4 "$DIR/stamp.rep" | tr -d ' \n')
		[ "$out" = 00001234 ] || fail "STAMP via $addr: sender sequence $out"
		ok "STAMP reflected via $addr, 44 octets, sequence copied"
	done
	restore_conf
	trap - EXIT
}

# Clients that stay connected: bash /dev/tcp on fds kept by the step.
roundtrip() {	# roundtrip FD WORD
	local line
	printf '%s\n' "$2" >&"$1" || return 1
	IFS= read -r -t 3 line <&"$1" || return 1
	[ "$line" = "$2" ]
}

step_reload() {
	local pid out c3 c4 c5 line
	cp "$CONF" "$DIR/echod.conf.orig"
	trap restore_conf EXIT
	pid=$(prop echod.service MainPID)
	exec {c3}<>/dev/tcp/127.0.0.1/7
	roundtrip "$c3" before || fail "client before reload"
	# A valid change: max_clients 2.
	sed -i 's/^max_clients .*/max_clients = 2/' "$CONF"
	mark_journal
	systemctl reload echod.service
	wait_journal echod.service 'reload: .* applied \(max_clients 2'
	expect_event echod.service 'reloaded' 'reload: .* applied'
	[ "$(prop echod.service MainPID)" = "$pid" ] || fail "reload changed the PID"
	expect_state echod.service active
	roundtrip "$c3" after || fail "client connected before the reload lost"
	ok "client connected before reload still echoes"
	exec {c4}<>/dev/tcp/127.0.0.1/7
	roundtrip "$c4" second || fail "second client under max_clients 2"
	exec {c5}<>/dev/tcp/127.0.0.1/7
	if IFS= read -r -t 3 line <&"$c5"; then
		fail "third client over max_clients 2 was not closed"
	fi
	ok "new max_clients 2 in force: a third client is closed"
	exec {c5}>&- {c4}>&-

	# A broken file.  systemctl reload runs echod -t first: the reload
	# fails, the journal names file:line at priority err, no SIGHUP.
	printf 'no_such_key = 1\n' >>"$CONF"
	line=$(wc -l <"$CONF")
	mark_journal
	! systemctl reload echod.service 2>/dev/null ||
	    fail "systemctl reload succeeded with a broken file"
	wait_journal echod.service "^$CONF:$line: " -p err
	out=$(journal_since -u echod.service -o cat -p warning)
	! printf '%s\n' "$out" | grep -q 'reload: reading' ||
	    fail "info lines pass journalctl -p warning: no priorities"
	ok "broken config: systemctl reload fails: '$(printf '%s\n' "$out" | head -n1)' (priority err)"
	# A SIGHUP that gets through anyway: echod keeps what runs.
	mark_journal
	systemctl kill -s HUP --kill-who=main echod.service
	wait_journal echod.service 'running configuration stays' -p err
	expect_event echod.service 'rejected' 'running configuration stays'
	wait_journal echod.service "^$CONF:$line: " -p err
	ok "broken config on SIGHUP: echod logs file:line, keeps its configuration"
	[ "$(prop echod.service MainPID)" = "$pid" ] || fail "broken reload changed the PID"
	expect_state echod.service active
	roundtrip "$c3" still || fail "client lost after broken reload"
	expect_echo tcp 127.0.0.1
	ok "broken reload: service and client unharmed"
	exec {c3}>&-

	# SIGUSR1 logs counters.
	mark_journal
	systemctl kill -s USR1 --kill-who=main echod.service
	wait_journal echod.service '^stats: '
	ok "SIGUSR1: $(journal_since -u echod.service -o cat | grep '^stats:' | head -n1)"

	trap - EXIT
	cp "$DIR/echod.conf.orig" "$CONF"
	rm -f "$DIR/echod.conf.orig"
	systemctl reload echod.service
}

# The admin moves the config with `systemctl edit`: start and reload both
# follow the drop-in (ECHOD_CONFIG), so a broken file at the new path
# fails the reload even though /etc/echod/echod.conf is fine.
step_dropin() {
	local pid alt=/etc/echod/moved.conf
	trap 'rm -rf /etc/systemd/system/echod.service.d /etc/echod/moved.conf
	    systemctl daemon-reload; systemctl restart echod.service' EXIT
	cp "$CONF" "$alt"
	printf '[Service]\nEnvironment=ECHOD_CONFIG=%s\n' "$alt" >"$DIR/dropin.conf"
	printf '#!/bin/sh\ncat %s >"$1"\n' "$DIR/dropin.conf" >"$DIR/editor"
	chmod 0755 "$DIR/editor"
	# systemctl edit wants a tty: script(1) gives it one.
	SYSTEMD_EDITOR=$DIR/editor script -qec \
	    'systemctl edit echod.service' /dev/null >/dev/null
	[ -f /etc/systemd/system/echod.service.d/override.conf ] ||
	    fail "systemctl edit wrote no drop-in"
	systemctl restart echod.service
	pid=$(prop echod.service MainPID)
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "-c $alt " ||
	    fail "ExecStart= ignores the drop-in: $(tr '\0' ' ' <"/proc/$pid/cmdline")"
	ok "systemctl edit: echod runs with -c $alt"
	printf 'no_such_key = 1\n' >>"$alt"
	mark_journal
	! systemctl reload echod.service 2>/dev/null ||
	    fail "reload passed with a broken $alt (checked the wrong file?)"
	wait_journal echod.service "^$alt:" -p err
	[ "$(prop echod.service MainPID)" = "$pid" ] || fail "PID changed"
	expect_state echod.service active
	expect_echo tcp 127.0.0.1
	ok "broken $alt: systemctl reload fails, service keeps running"
	trap - EXIT
	rm -rf /etc/systemd/system/echod.service.d "$alt"
	systemctl daemon-reload
	systemctl restart echod.service
	expect_state echod.service active
}

# WatchdogSec=: echod pings while it runs; stopped (SIGSTOP), it is
# killed and restarted within the interval plus the abort timeout.
step_watchdog() {
	local pid new t0 d=/etc/systemd/system/echod.service.d
	trap 'rm -rf "$d"; systemctl daemon-reload
	    systemctl restart echod.service' EXIT
	mkdir -p "$d"
	printf '[Service]\nWatchdogSec=2s\nTimeoutAbortSec=2s\n' >"$d/watchdog.conf"
	systemctl daemon-reload
	systemctl restart echod.service
	pid=$(prop echod.service MainPID)
	[ "$(prop echod.service WatchdogUSec)" = 2s ] ||
	    fail "WatchdogUSec is $(prop echod.service WatchdogUSec)"
	# Two whole intervals: without WATCHDOG=1 it would be dead by now.
	sleep 4.5
	[ "$(prop echod.service MainPID)" = "$pid" ] ||
	    fail "killed although running (no WATCHDOG=1?)"
	[ "$(prop echod.service NRestarts)" = 0 ] || fail "restarted while healthy"
	expect_echo tcp 127.0.0.1
	ok "healthy echod survives 2 watchdog intervals (pings)"
	mark_journal
	kill -STOP "$pid"
	t0=$SECONDS
	new=$pid
	while [ $((SECONDS - t0)) -lt 15 ]; do
		new=$(prop echod.service MainPID)
		[ "$new" != "$pid" ] && [ "$new" != 0 ] &&
		    [ "$(prop echod.service SubState)" = running ] && break
		sleep 0.2
	done
	[ "$new" != "$pid" ] && [ "$new" != 0 ] ||
	    fail "stopped echod not restarted after $((SECONDS - t0)) s"
	wait_journal echod.service 'atchdog timeout'
	# 2 s watchdog + 2 s abort timeout + 1 s RestartSec, plus slack.
	[ $((SECONDS - t0)) -le 8 ] || fail "restart took $((SECONDS - t0)) s"
	expect_echo tcp 127.0.0.1
	ok "SIGSTOPped echod: watchdog timeout, restarted in $((SECONDS - t0)) s"
	trap - EXIT
	rm -rf "$d"
	systemctl daemon-reload
	systemctl restart echod.service
}

# echod@NAME: its own config /etc/echod/NAME.conf, its own port, beside
# echod.service.
step_template() {
	local got want="lab-$$"
	trap 'systemctl stop echod@lab.service; rm -f /etc/echod/lab.conf' EXIT
	sed 's/^port .*/port = 7007/' "$CONF" >/etc/echod/lab.conf
	grep -q '^port = 7007$' /etc/echod/lab.conf || fail "no port line in $CONF"
	systemctl start echod@lab.service
	expect_state echod@lab.service active
	expect_state echod.service active
	got=$(printf '%s\n' "$want" | nc -N -w 3 127.0.0.1 7007 || true)
	[ "$got" = "$want" ] || fail "echod@lab on 7007: got '$got'"
	expect_echo tcp 127.0.0.1
	ok "echod@lab serves port 7007 from /etc/echod/lab.conf beside echod.service"
	trap - EXIT
	systemctl stop echod@lab.service
	rm -f /etc/echod/lab.conf
}

step_warning() {
	local out
	# More clients than descriptors: a warning (priority 4) at start.
	cp "$CONF" "$DIR/echod.conf.orig"
	trap restore_conf EXIT
	sed -i 's/^max_clients .*/max_clients = 1000000/' "$CONF"
	mark_journal
	systemctl restart echod.service
	expect_state echod.service active
	out=$(journal_since -u echod.service -o cat -p warning..warning)
	printf '%s\n' "$out" | grep -q 'max_clients 1000000 needs about' ||
	    fail "no warning-priority line about open files: '$out'"
	ok "journalctl -p warning: '$(printf '%s\n' "$out" | head -n1)'"
	trap - EXIT
	restore_conf
}

step_badstart() {
	# A bad file at start: echod exits 78 before binding, and
	# RestartPreventExitStatus=78 keeps systemd from retrying.
	cp "$CONF" "$DIR/echod.conf.orig"
	trap restore_conf EXIT
	printf 'port = 70000\n' >>"$CONF"
	! systemctl restart echod.service 2>/dev/null ||
	    fail "started with a broken file"
	sleep 1.5
	expect_state echod.service failed
	[ "$(prop echod.service ExecMainStatus)" = 78 ] ||
	    fail "exit status $(prop echod.service ExecMainStatus), expected 78"
	[ "$(prop echod.service NRestarts)" = 0 ] ||
	    fail "restarted $(prop echod.service NRestarts) times on a config error"
	ok "bad config at start: exit 78, failed, not restarted"
	trap - EXIT
	restore_conf
	expect_state echod.service active
}

step_stop() {
	local c3 line t0 ms
	exec {c3}<>/dev/tcp/127.0.0.1/7
	roundtrip "$c3" hold || fail "client before stop"
	mark_journal
	t0=$(date +%s%N)
	systemctl stop echod.service
	ms=$((($(date +%s%N) - t0) / 1000000))
	[ "$ms" -lt 2500 ] || fail "stop took $ms ms with a client connected"
	if IFS= read -r -t 2 line <&"$c3"; then
		fail "client read '$line' instead of EOF"
	fi
	exec {c3}>&-
	[ "$(prop echod.service Result)" = success ] ||
	    fail "stop result $(prop echod.service Result)"
	[ "$(prop echod.service ExecMainStatus)" = 0 ] ||
	    fail "exit status $(prop echod.service ExecMainStatus)"
	ok "stop with a client connected: ${ms} ms, exit 0, client saw EOF"
	expect_event echod.service 'stopped' '^stopped$'
	systemctl start echod.service
}

step_socket() {
	local pid
	systemctl start echod.service
	systemctl start echod.socket
	expect_state echod.socket active
	expect_state echod.service inactive
	expect_state echod-activated.service inactive
	ok "echod.socket listens, nothing runs yet"
	mark_journal
	# The first datagram starts the service and is answered by it.
	expect_echo udp 127.0.0.1
	expect_state echod-activated.service active
	expect_echo tcp 127.0.0.1
	expect_echo tcp ::1
	expect_echo udp ::1
	wait_journal echod-activated.service 'socket activation: serving the 2 sockets'
	pid=$(prop echod-activated.service MainPID)
	grep -Eq '^CapEff:[[:space:]]*0+$' "/proc/$pid/status" ||
	    fail "activated: $(grep CapEff "/proc/$pid/status")"
	grep -Eq '^CapBnd:[[:space:]]*0+$' "/proc/$pid/status" ||
	    fail "activated: $(grep CapBnd "/proc/$pid/status")"
	ok "activated echod (pid $pid) has CapEff=0 CapBnd=0"
	[ "$(readlink "/proc/$pid/ns/net")" != "$(readlink /proc/1/ns/net)" ] ||
	    fail "activated echod shares the host network namespace"
	ok "activated echod has a private network namespace"
	mark_journal
	systemctl reload echod-activated.service
	wait_journal echod-activated.service 'reload: .* applied'
	expect_echo tcp 127.0.0.1

	# The two ways exclude each other, and switching does not race on
	# port 7.
	systemctl start echod.service
	expect_state echod.socket inactive
	expect_state echod-activated.service inactive
	expect_state echod.service active
	expect_echo tcp 127.0.0.1
	systemctl start echod.socket
	expect_state echod.service inactive
	expect_echo tcp 127.0.0.1
	ok "echod.service and echod.socket replace each other"
}

step_upgrade() {
	local pid
	# Upgrade (here: the same version again) restarts what runs.
	systemctl stop echod.socket echod-activated.service
	systemctl start echod.service
	pid=$(prop echod.service MainPID)
	dpkg -i "$DIR"/echod_*.deb >"$DIR/dpkg.log" 2>&1 ||
	    { cat "$DIR/dpkg.log"; fail "dpkg -i over the installed package"; }
	expect_state echod.service active
	[ "$(prop echod.service MainPID)" != "$pid" ] ||
	    fail "upgrade did not restart echod.service"
	expect_echo tcp 127.0.0.1
	ok "reinstall restarted echod.service"
}

step_remove() {
	local f
	# Switch to the socket way, so removal must clean up both.
	systemctl disable --now echod.service 2>/dev/null
	systemctl enable --now echod.socket 2>/dev/null
	expect_echo tcp 127.0.0.1
	dpkg -r echod >"$DIR/dpkg.log" 2>&1 || { cat "$DIR/dpkg.log"; fail "dpkg -r"; }
	[ "$(dpkg-query -W -f='${db:Status-Abbrev}' echod)" = "rc " ] ||
	    fail "after dpkg -r: $(dpkg-query -W -f='${db:Status-Abbrev}' echod)"
	! pgrep -x echod >/dev/null || fail "echod still runs after dpkg -r"
	! nc -z -w 1 127.0.0.1 7 || fail "port 7 still open after dpkg -r"
	for f in /usr/sbin/echod /lib/systemd/system/echod.service \
	    /lib/systemd/system/echod@.service \
	    /lib/systemd/system/echod.socket \
	    /lib/systemd/system/echod-activated.service; do
		[ ! -e "$f" ] || fail "$f left after dpkg -r"
	done
	[ -f "$CONF" ] || fail "dpkg -r removed the conffile"
	# What remove keeps until purge, as dh_installsystemd does: the
	# conffile and the admin's enable links.
	echo "info: kept by dpkg -r: $(find /etc -name 'echod*' | sort | tr '\n' ' ')"
	ok "dpkg -r: stopped, files gone, $CONF kept (conffile)"
}

step_purge() {
	dpkg --purge echod >"$DIR/dpkg.log" 2>&1 || { cat "$DIR/dpkg.log"; fail "dpkg --purge"; }
	case $(dpkg-query -W -f='${db:Status-Abbrev}' echod 2>/dev/null) in
	""|"un ") ;;
	*) fail "dpkg still knows echod" ;;
	esac
	! dpkg -L echod >/dev/null 2>&1 || fail "dpkg -L echod still lists files"
	[ ! -e /etc/echod ] || fail "/etc/echod left after purge"
	snapshot >"$DIR/after.list"
	diff "$DIR/before.list" "$DIR/after.list" ||
	    fail "files differ from before the install (above)"
	ok "dpkg --purge: /etc/echod gone, file tree as before the install"
}

case ${1:-} in
install|verify|start|echo|stamp|reload|dropin|watchdog|template|warning|badstart|\
stop|socket|upgrade|remove|purge)
	"step_$1" ;;
*)
	echo "usage: inside.sh STEP (see the case above)" >&2
	exit 64 ;;
esac
