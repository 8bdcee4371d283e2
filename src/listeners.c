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

static void
listener_named(struct listener *l, int fd, int type, const char *how)
{
	char	 addr[NET_ADDRSTRLEN];
	socklen_t len;

	l->fd = fd;
	l->type = type;
	if (net_local_addr(fd, &l->addr, &len) == -1)
		memset(&l->addr, 0, sizeof(l->addr));
	snprintf(l->name, sizeof(l->name), "%s %s", proto_name(type),
	    net_format_addr((struct sockaddr *)&l->addr, addr, sizeof(addr)));
	log_info("listening on %s%s", l->name, how);
}

static int
listener_open(struct listener *l, int type, const struct sockaddr_storage *ss,
    const struct echod_config *cfg)
{
	socklen_t len = ss->ss_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	char	 addr[NET_ADDRSTRLEN];
	int	 fd;

	if (type == SOCK_STREAM)
		fd = net_tcp_listen((const struct sockaddr *)ss, len,
		    cfg->backlog, cfg->reuseaddr);
	else
		fd = net_udp_bind((const struct sockaddr *)ss, len);
	if (fd == -1) {
		log_err("cannot bind %s %s", proto_name(type), net_format_addr(
		    (const struct sockaddr *)ss, addr, sizeof(addr)));
		return -1;
	}
	listener_named(l, fd, type, "");
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

/* A kept TCP listener takes a new backlog or SO_REUSEADDR in place. */
static void
retune_tcp(const struct listener *l, const struct echod_config *cfg)
{
	int	 on = cfg->reuseaddr;

	if (listen(l->fd, cfg->backlog) == -1)
		log_warn("%s: cannot change the backlog", l->name);
	if (setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		log_warn("%s: cannot change SO_REUSEADDR", l->name);
}

/*
 * Fill want[] with the sockets of one protocol cfg asks for, reusing
 * old[] where the address matches (marked in kept[]).  On failure close
 * what this call opened.
 */
static int
plan(struct listener *want, size_t *nwant, const struct listener *old,
    size_t nold, bool *kept, int type, const struct echod_config *cfg)
{
	struct sockaddr_storage ss;
	socklen_t len;
	size_t	 i, n = 0;
	bool	 fresh[ECHOD_MAX_LISTEN] = { false };
	int	 j;

	for (i = 0; i < cfg->nlisten; i++) {
		if (net_parse_addr(cfg->listen[i], cfg->port, &ss, &len) == -1) {
			log_err("listen '%s'", cfg->listen[i]);
			goto fail;
		}
		if ((j = find_open(old, nold, &ss)) >= 0) {
			want[n++] = old[j];
			kept[j] = true;
			continue;
		}
		if (listener_open(&want[n], type, &ss, cfg) == -1)
			goto fail;
		fresh[n++] = true;
	}
	*nwant = n;
	return 0;
fail:
	while (n > 0)
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
listeners_apply(struct listeners *ls, const struct echod_config *cfg)
{
	struct listeners next = { .ntcp = 0, .nudp = 0 };
	bool	 kept_tcp[ECHOD_MAX_LISTEN] = { false };
	bool	 kept_udp[ECHOD_MAX_LISTEN] = { false };
	size_t	 i;

	if (cfg->tcp && plan(next.tcp, &next.ntcp, ls->tcp, ls->ntcp,
	    kept_tcp, SOCK_STREAM, cfg) == -1)
		return -1;
	if (cfg->udp && plan(next.udp, &next.nudp, ls->udp, ls->nudp,
	    kept_udp, SOCK_DGRAM, cfg) == -1) {
		/* Undo the TCP half: close only what it opened. */
		for (i = 0; i < next.ntcp; i++)
			if (find_open(ls->tcp, ls->ntcp, &next.tcp[i].addr) < 0)
				close(next.tcp[i].fd);
		return -1;
	}
	close_dropped(ls->tcp, ls->ntcp, kept_tcp);
	close_dropped(ls->udp, ls->nudp, kept_udp);
	for (i = 0; i < next.ntcp; i++)
		if (find_open(ls->tcp, ls->ntcp, &next.tcp[i].addr) >= 0)
			retune_tcp(&next.tcp[i], cfg);
	*ls = next;
	return 0;
}

/* Take one socket from systemd into ls. */
static int
adopt(struct listeners *ls, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(int);
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
	if ((type == SOCK_STREAM ? ls->ntcp : ls->nudp) >= ECHOD_MAX_LISTEN) {
		log_errx("socket activation: more than %d %s sockets",
		    ECHOD_MAX_LISTEN, proto_name(type));
		return -1;
	}
	/* systemd passes blocking sockets; the loops expect non-blocking. */
	if (net_set_nonblock(fd) == -1 ||
	    (type == SOCK_DGRAM && net_udp_pktinfo(fd, ss.ss_family) == -1)) {
		log_err("socket activation: fd %d", fd);
		return -1;
	}
	if (type == SOCK_STREAM)
		listener_named(&ls->tcp[ls->ntcp++], fd, type,
		    " (socket activation)");
	else
		listener_named(&ls->udp[ls->nudp++], fd, type,
		    " (socket activation)");
	return 0;
}

int
listeners_adopt(struct listeners *ls, int n)
{
	int	 i;

	ls->ntcp = ls->nudp = 0;
	for (i = 0; i < n; i++)
		if (adopt(ls, LISTEN_FDS_START + i) == -1) {
			/* The fds stay open; the process exits on failure. */
			ls->ntcp = ls->nudp = 0;
			return -1;
		}
	return 0;
}

bool
listeners_differ(const struct echod_config *a, const struct echod_config *b)
{
	size_t	 i;

	if (a->port != b->port || a->backlog != b->backlog ||
	    a->reuseaddr != b->reuseaddr || a->tcp != b->tcp ||
	    a->udp != b->udp || a->nlisten != b->nlisten)
		return true;
	for (i = 0; i < a->nlisten; i++)
		if (strcmp(a->listen[i], b->listen[i]) != 0)
			return true;
	return false;
}

void
listeners_close(struct listeners *ls)
{
	while (ls->ntcp > 0)
		close(ls->tcp[--ls->ntcp].fd);
	while (ls->nudp > 0)
		close(ls->udp[--ls->nudp].fd);
}
