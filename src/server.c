/* SPDX-License-Identifier: MIT */
/*
 * The daemon's lifecycle: open every configured socket, run the accept loop
 * (ppoll over the TCP listeners; signals are let in only there), back off
 * when accept(2) runs out of descriptors, and shut down in order: listeners,
 * the UDP thread, then every client.
 */

#include <sys/resource.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "echod/log.h"
#include "echod/net.h"
#include "echod/server.h"
#include "echod/signals.h"

#define ACCEPT_BACKOFF_MS	100	/* after EMFILE and friends */
#define SHUTDOWN_WAIT_MS	1500	/* the contract allows 2 s in all */
#define FD_RESERVE		32	/* stdio, log, eventfd, slack */

static int
listener_open(struct listener *l, int type, const char *host,
    const struct echod_config *cfg)
{
	const char *proto = type == SOCK_STREAM ? "tcp" : "udp";
	struct sockaddr_storage ss;
	socklen_t len;
	char	 addr[NET_ADDRSTRLEN];
	int	 fd;

	if (net_parse_addr(host, cfg->port, &ss, &len) == -1) {
		log_err("%s %s port %d", proto, host, cfg->port);
		return -1;
	}
	net_format_addr((struct sockaddr *)&ss, addr, sizeof(addr));
	if (type == SOCK_STREAM)
		fd = net_tcp_listen((struct sockaddr *)&ss, len, cfg->backlog,
		    cfg->reuseaddr);
	else
		fd = net_udp_bind((struct sockaddr *)&ss, len);
	if (fd == -1) {
		log_err("cannot bind %s %s", proto, addr);
		return -1;
	}
	l->fd = fd;
	l->type = type;
	if (net_local_addr(fd, &l->addr, &len) == -1)
		memcpy(&l->addr, &ss, sizeof(ss));
	snprintf(l->name, sizeof(l->name), "%s %s", proto,
	    net_format_addr((struct sockaddr *)&l->addr, addr, sizeof(addr)));
	log_info("listening on %s", l->name);
	return 0;
}

static void
listeners_close(struct listener *l, size_t *n)
{
	while (*n > 0)
		close(l[--*n].fd);
}

/* Each client costs a descriptor: raise the soft limit as far as allowed. */
static void
raise_fd_limit(const struct echod_config *cfg)
{
	struct rlimit rl;
	rlim_t	 need = (rlim_t)cfg->max_clients + 2 * cfg->nlisten +
	    FD_RESERVE;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_warn("getrlimit RLIMIT_NOFILE");
		return;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("cannot raise the open file limit to %llu",
			    (unsigned long long)rl.rlim_max);
		else
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
		log_warnx("max_clients %d needs about %llu open files but the "
		    "limit is %llu: raise it (ulimit -n, LimitNOFILE=)",
		    cfg->max_clients, (unsigned long long)need,
		    (unsigned long long)rl.rlim_cur);
}

int
server_open(struct server *srv, const struct echod_config *cfg,
    const char *config_path)
{
	size_t	 i;

	memset(srv, 0, sizeof(*srv));
	srv->cfg = *cfg;
	srv->config_path = config_path;
	raise_fd_limit(cfg);
	if (sessions_init(&srv->sessions, &srv->stats) == -1) {
		log_err("cannot set up the client registry");
		return -1;
	}
	sessions_set_idle_timeout(&srv->sessions, cfg->idle_timeout);
	tcp_acceptor_init(&srv->acceptor, &srv->sessions, &srv->stats,
	    (unsigned)cfg->max_clients);

	for (i = 0; i < cfg->nlisten; i++) {
		if (cfg->tcp) {
			if (listener_open(&srv->tcp[srv->ntcp], SOCK_STREAM,
			    cfg->listen[i], cfg) == -1)
				goto fail;
			srv->ntcp++;
		}
		if (cfg->udp) {
			if (listener_open(&srv->udp[srv->nudp], SOCK_DGRAM,
			    cfg->listen[i], cfg) == -1)
				goto fail;
			srv->nudp++;
		}
	}
	if (udp_service_start(&srv->udp_service, srv->udp, srv->nudp,
	    &srv->stats, cfg->udp_loop_guard) == -1)
		goto fail;
	return 0;
fail:
	listeners_close(srv->tcp, &srv->ntcp);
	listeners_close(srv->udp, &srv->nudp);
	sessions_destroy(&srv->sessions);
	return -1;
}

void
server_log_stats(struct server *srv)
{
	struct echod_stats *st = &srv->stats;
	unsigned long long total;
	unsigned now, peak;

	sessions_counts(&srv->sessions, &now, &peak, &total);
	log_notice("stats: tcp clients %u now, %u peak, %llu total; "
	    "tcp bytes %llu in, %llu out; udp datagrams %llu in, %llu out; "
	    "udp bytes %llu in, %llu out; refused: %llu max_clients, "
	    "%llu no thread, %llu accept errors; udp dropped: %llu loop guard, "
	    "%llu send errors", now, peak, total,
	    stats_get(&st->tcp_bytes_in), stats_get(&st->tcp_bytes_out),
	    stats_get(&st->udp_datagrams_in), stats_get(&st->udp_datagrams_out),
	    stats_get(&st->udp_bytes_in), stats_get(&st->udp_bytes_out),
	    stats_get(&st->refused_full), stats_get(&st->refused_thread),
	    stats_get(&st->accept_errors), stats_get(&st->udp_dropped_guard),
	    stats_get(&st->udp_send_errors));
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Accept on every ready listener; returns true if accept(2) ran dry. */
static bool
accept_ready(struct server *srv, struct pollfd *pfd)
{
	bool	 exhausted = false;
	size_t	 i;

	for (i = 0; i < srv->ntcp; i++)
		if (pfd[i].revents != 0 &&
		    tcp_accept_batch(&srv->acceptor, pfd[i].fd) == -1)
			exhausted = true;
	return exhausted;
}

/* The accept loop; returns the SIGNALS_STOP reason, or -1 on failure. */
static int
accept_loop(struct server *srv, const sigset_t *waitmask)
{
	struct pollfd pfd[ECHOD_MAX_LISTEN];
	struct timespec ts, *tsp;
	long long resume = 0, left;
	size_t	 i;
	int	 sig;

	for (;;) {
		sig = signals_take();
		if (sig & SIGNALS_STATS)
			server_log_stats(srv);
		if (sig & SIGNALS_STOP)
			return 0;
		/* Backing off: leave the listeners out of the poll set. */
		left = resume - now_ms();
		tsp = NULL;
		if (left > 0) {
			ts.tv_sec = left / 1000;
			ts.tv_nsec = (left % 1000) * 1000000L;
			tsp = &ts;
		}
		for (i = 0; i < srv->ntcp; i++)
			pfd[i] = (struct pollfd){
				.fd = left > 0 ? -1 : srv->tcp[i].fd,
				.events = POLLIN,
			};
		if (ppoll(pfd, srv->ntcp, tsp, waitmask) == -1) {
			if (errno == EINTR)
				continue;
			log_err("ppoll");
			return -1;
		}
		if (left <= 0 && accept_ready(srv, pfd))
			resume = now_ms() + ACCEPT_BACKOFF_MS;
	}
}

int
server_run(struct server *srv, const sigset_t *waitmask)
{
	unsigned left;
	int	 rc;

	rc = accept_loop(srv, waitmask);
	log_info("stopping");
	/* No new clients from here on; pending ones are refused. */
	listeners_close(srv->tcp, &srv->ntcp);
	udp_service_stop(&srv->udp_service);
	if (sessions_shutdown(&srv->sessions, SHUTDOWN_WAIT_MS) == -1) {
		left = sessions_count(&srv->sessions);
		log_warnx("%u clients still closing after %d ms; exiting anyway",
		    left, SHUTDOWN_WAIT_MS);
	}
	return rc;
}

void
server_close(struct server *srv)
{
	udp_service_stop(&srv->udp_service);
	listeners_close(srv->tcp, &srv->ntcp);
	listeners_close(srv->udp, &srv->nudp);
	/* Threads still running (shutdown timed out) use the registry. */
	if (sessions_count(&srv->sessions) == 0)
		sessions_destroy(&srv->sessions);
	log_info("stopped");
}
