# Configure the systemd units into DEST: cmake -DSRC=systemd -DDEST=dir
# -DECHOD_SBINDIR=/usr/sbin -DECHOD_CONFIG=/etc/echod/echod.conf
# -DECHOD_CONFIG_DIR=/etc/echod -P units.cmake.  Run by CMakeLists.txt at
# configure time (build/systemd) and at install time (with the prefix then
# in force).  echod@.service is echod.service.in with an instance's config.
file(REMOVE_RECURSE "${DEST}")

set(ECHOD_UNIT_DESCRIPTION "TCP/UDP echo daemon (RFC 862)")
set(ECHOD_UNIT_CONFIG "${ECHOD_CONFIG}")
set(ECHOD_UNIT_CONFLICTS "# Never both on port 7: starting one stops the other, and the ordering makes
# that stop finish (port released) before the start binds.
Conflicts=echod.socket echod-activated.service
After=echod.socket echod-activated.service")
configure_file("${SRC}/echod.service.in" "${DEST}/echod.service" @ONLY)

set(ECHOD_UNIT_DESCRIPTION "TCP/UDP echo daemon (RFC 862), instance %i")
set(ECHOD_UNIT_CONFIG "${ECHOD_CONFIG_DIR}/%i.conf")
set(ECHOD_UNIT_CONFLICTS "# An instance: its own config file with its own port, beside echod.service
# and the other instances (systemctl start echod@NAME).")
configure_file("${SRC}/echod.service.in" "${DEST}/echod@.service" @ONLY)

configure_file("${SRC}/echod-activated.service.in"
	"${DEST}/echod-activated.service" @ONLY)
configure_file("${SRC}/echod.socket" "${DEST}/echod.socket" COPYONLY)
