/* SPDX-License-Identifier: MIT */
/*
 * The set of sockets the daemon serves: opened from the config (and changed
 * in place on reload, keeping the sockets that stay), or adopted from
 * systemd under socket activation.  Each socket is logged once as it starts
 * listening; each failure names its protocol, address and port.
 */

#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "echod/listeners.h"
#include "echod/log.h"

#define LISTEN_FDS_START	3	/* sd_listen_fds(3) */

static const char *
proto_name(int type)
{
	return type == SOCK_STREAM ? "tcp" : "udp";
}

/* "tcp", "udp", or "stamp" for a STAMP reflector's UDP socket. */
static const char *
role_name(int type, bool stamp)
{
	return stamp ? "stamp" : proto_name(type);
}

static void
listener_named(struct listener *l, int fd, int type, bool stamp,
    const char *how)
{
	char	 addr[NET_ADDRSTRLEN];
	socklen_t len;

	l->fd = fd;
	l->type = type;
	l->stamp = stamp;
	if (net_local_addr(fd, &l->addr, &len) == -1)
		memset(&l->addr, 0, sizeof(l->addr));
	snprintf(l->name, sizeof(l->name), "%s %s", role_name(type, stamp),
	    net_format_addr((struct sockaddr *)&l->addr, addr, sizeof(addr)));
	log_info("listening on %s%s", l->name, how);
}

static int
listener_open(struct listener *l, int type, bool stamp,
    const struct sockaddr_storage *ss, const struct echod_config *cfg)
{
	socklen_t len = ss->ss_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	char	 addr[NET_ADDRSTRLEN];
	int	 fd;

	if (type == SOCK_STREAM)
		fd = net_tcp_listen((const struct sockaddr *)ss, len,
		    cfg->backlog, cfg->reuseaddr, cfg->freebind, cfg->reuseport);
	else
		fd = net_udp_bind((const struct sockaddr *)ss, len,
		    cfg->freebind, cfg->reuseport);
	if (fd != -1 && stamp && net_udp_stamp(fd, ss->ss_family) == -1) {
		close(fd);
		fd = -1;
	}
	if (fd == -1) {
		log_err("cannot bind %s %s", role_name(type, stamp),
		    net_format_addr((const struct sockaddr *)ss, addr,
		    sizeof(addr)));
		return -1;
	}
	listener_named(l, fd, type, stamp, "");
	return 0;
}

/* The index in old[] of a socket bound to ss, or -1. */
static int
find_open(const struct listener *old, size_t n,
    const struct sockaddr_storage *ss)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (net_same_addr(&old[i].addr, ss))
			return (int)i;
	return -1;
}

/*
 * Add to want[] (*nwant so far) the sockets of one role cfg asks for, on
 * port: reusing old[] where the address matches (marked in kept[]) and
 * opening the rest (marked in fresh[]).  On failure close what this call
 * opened.
 */
static int
plan(struct listener *want, size_t *nwant, bool *fresh,
    const struct listener *old, size_t nold, bool *kept, int type,
    bool stamp, int port, const struct echod_config *cfg)
{
	struct sockaddr_storage ss;
	socklen_t len;
	size_t	 i, first = *nwant, n = *nwant;
	int	 j;

	for (i = 0; i < cfg->nlisten; i++) {
		fresh[n] = false;
		if (net_parse_addr(cfg->listen[i], port, &ss, &len) == -1) {
			log_err("listen '%s'", cfg->listen[i]);
			goto fail;
		}
		if ((j = find_open(old, nold, &ss)) >= 0 &&
		    old[j].stamp == stamp) {
			want[n++] = old[j];
			kept[j] = true;
			continue;
		}
		if (listener_open(&want[n], type, stamp, &ss, cfg) == -1)
			goto fail;
		fresh[n++] = true;
	}
	*nwant = n;
	return 0;
fail:
	while (n > first)
		if (fresh[--n])
			close(want[n].fd);
	return -1;
}

/* Close the sockets of old[] that the new set does not keep. */
static void
close_dropped(const struct listener *old, size_t n, const bool *kept)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (!kept[i]) {
			log_info("closing %s", old[i].name);
			close(old[i].fd);
		}
}

int
listeners_prepare(const struct listeners *ls, const struct echod_config *cfg,
    struct listeners_change *ch)
{
	memset(ch, 0, sizeof(*ch));
	ch->backlog = cfg->backlog;
	ch->reuseaddr = cfg->reuseaddr;
	ch->reuseport = cfg->reuseport;
	if (cfg->tcp && plan(ch->next.tcp, &ch->next.ntcp, ch->fresh_tcp,
	    ls->tcp, ls->ntcp, ch->kept_tcp, SOCK_STREAM, false, cfg->port,
	    cfg) == -1)
		return -1;
	/* Echo first, then STAMP: plan() closes its own on failure. */
	if ((cfg->udp && plan(ch->next.udp, &ch->next.nudp, ch->fresh_udp,
	    ls->udp, ls->nudp, ch->kept_udp, SOCK_DGRAM, false, cfg->port,
	    cfg) == -1) || (cfg->stamp && plan(ch->next.udp, &ch->next.nudp,
	    ch->fresh_udp, ls->udp, ls->nudp, ch->kept_udp, SOCK_DGRAM, true,
	    cfg->stamp_port, cfg) == -1)) {
		listeners_abort(ch);
		return -1;
	}
	return 0;
}

void
listeners_abort(struct listeners_change *ch)
{
	size_t	 i;

	for (i = 0; i < ch->next.ntcp; i++)
		if (ch->fresh_tcp[i])
			close(ch->next.tcp[i].fd);
	for (i = 0; i < ch->next.nudp; i++)
		if (ch->fresh_udp[i])
			close(ch->next.udp[i].fd);
	memset(ch, 0, sizeof(*ch));
}

/*
 * reuseport on kept sockets, in place: on, a sibling instance may bind the
 * port from now on; off parts no sibling already sharing it.
 */
static void
set_reuseport(const struct listener *l, size_t n, const bool *fresh, bool on)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (!fresh[i] && net_set_reuseport(l[i].fd, on) == -1)
			log_warn("%s: cannot change SO_REUSEPORT", l[i].name);
}

void
listeners_commit(struct listeners *ls, const struct listeners_change *ch)
{
	size_t	 i;
	int	 on = ch->reuseaddr;

	close_dropped(ls->tcp, ls->ntcp, ch->kept_tcp);
	close_dropped(ls->udp, ls->nudp, ch->kept_udp);
	/* A kept TCP listener takes a new backlog or SO_REUSEADDR in place. */
	for (i = 0; i < ch->next.ntcp; i++) {
		if (ch->fresh_tcp[i])
			continue;
		if (listen(ch->next.tcp[i].fd, ch->backlog) == -1)
			log_warn("%s: cannot change the backlog",
			    ch->next.tcp[i].name);
		if (setsockopt(ch->next.tcp[i].fd, SOL_SOCKET, SO_REUSEADDR,
		    &on, sizeof(on)) == -1)
			log_warn("%s: cannot change SO_REUSEADDR",
			    ch->next.tcp[i].name);
	}
	set_reuseport(ch->next.tcp, ch->next.ntcp, ch->fresh_tcp, ch->reuseport);
	set_reuseport(ch->next.udp, ch->next.nudp, ch->fresh_udp, ch->reuseport);
	*ls = ch->next;
}

int
listeners_apply(struct listeners *ls, const struct echod_config *cfg)
{
	struct listeners_change ch;

	if (listeners_prepare(ls, cfg, &ch) == -1)
		return -1;
	listeners_commit(ls, &ch);
	return 0;
}

/* Take one socket from systemd into ls. */
static int
adopt(struct listeners *ls, int fd, const struct echod_config *cfg)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(int);
	bool	 stamp;
	int	 type;

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1 ||
	    net_local_addr(fd, &ss, &len) == -1) {
		log_err("socket activation: fd %d", fd);
		return -1;
	}
	if ((ss.ss_family != AF_INET && ss.ss_family != AF_INET6) ||
	    (type != SOCK_STREAM && type != SOCK_DGRAM)) {
		log_errx("socket activation: fd %d is not a TCP or UDP socket "
		    "(use ListenStream= and ListenDatagram= with IP addresses "
		    "or ports)", fd);
		return -1;
	}
	if (type == SOCK_STREAM ? ls->ntcp >= ECHOD_MAX_LISTEN :
	    ls->nudp >= ECHOD_MAX_UDP) {
		log_errx("socket activation: more than %zu %s sockets",
		    type == SOCK_STREAM ? (size_t)ECHOD_MAX_LISTEN :
		    ECHOD_MAX_UDP, proto_name(type));
		return -1;
	}
	/* A UDP socket on stamp_port is the STAMP reflector's. */
	stamp = type == SOCK_DGRAM && cfg->stamp && net_addr_port(
	    (const struct sockaddr *)&ss) == cfg->stamp_port;
	/*
	 * systemd passes blocking sockets; the loops expect non-blocking.
	 * Accepted sockets inherit TCP_NODELAY from their listener.
	 */
	if (net_set_nonblock(fd) == -1 ||
	    (type == SOCK_DGRAM && net_udp_pktinfo(fd, ss.ss_family) == -1) ||
	    (stamp && net_udp_stamp(fd, ss.ss_family) == -1) ||
	    (type == SOCK_STREAM && net_set_nodelay(fd) == -1)) {
		log_err("socket activation: fd %d", fd);
		return -1;
	}
	if (type == SOCK_STREAM)
		listener_named(&ls->tcp[ls->ntcp++], fd, type, false,
		    " (socket activation)");
	else
		listener_named(&ls->udp[ls->nudp++], fd, type, stamp,
		    " (socket activation)");
	return 0;
}

int
listeners_adopt(struct listeners *ls, int n, const struct echod_config *cfg)
{
	int	 i;

	ls->ntcp = ls->nudp = 0;
	for (i = 0; i < n; i++)
		if (adopt(ls, LISTEN_FDS_START + i, cfg) == -1) {
			/* The fds stay open; the process exits on failure. */
			ls->ntcp = ls->nudp = 0;
			return -1;
		}
	return 0;
}

void
listeners_close_tcp(struct listeners *ls)
{
	while (ls->ntcp > 0)
		close(ls->tcp[--ls->ntcp].fd);
}

void
listeners_close(struct listeners *ls)
{
	listeners_close_tcp(ls);
	while (ls->nudp > 0)
		close(ls->udp[--ls->nudp].fd);
}
