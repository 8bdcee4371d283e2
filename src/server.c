/* SPDX-License-Identifier: MIT */
/*
 * The daemon's lifecycle: open the sockets, run the accept loop (ppoll over
 * the TCP listeners; signals are let in only there), back off when accept(2)
 * runs out of descriptors, reload on SIGHUP, keep systemd's STATUS= current,
 * and shut down in order: listeners, the UDP thread, then every client.
 */

#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "echod/fdlimit.h"
#include "echod/log.h"
#include "echod/monotime.h"
#include "echod/notify.h"
#include "echod/server.h"
#include "echod/signals.h"

#define ACCEPT_BACKOFF_MS	100	/* after EMFILE and friends */
#define SHUTDOWN_WAIT_MS	1500	/* the contract allows 2 s in all */
#define STATUS_INTERVAL_MS	1000	/* STATUS= refresh under systemd */


/* The TCP side's part of cfg. */
static void
tcp_settings_of(const struct echod_config *cfg, struct tcp_settings *t)
{
	*t = (struct tcp_settings){
		.admission = {
			.clients = {
				.max_clients = (unsigned)cfg->max_clients,
				.max_per_source =
				    (unsigned)cfg->max_clients_per_source,
				.fair_share = cfg->fair_share,
			},
			.prefix_v4 = cfg->source_prefix_v4,
			.prefix_v6 = cfg->source_prefix_v6,
			.connect_rate = (uint32_t)cfg->connect_rate_per_source,
			.connect_burst = (uint32_t)cfg->connect_burst,
		},
		.idle_timeout = cfg->idle_timeout,
		.send_timeout = cfg->send_timeout,
		.keepalive = cfg->tcp_keepalive,
		.cache_size = (unsigned)cfg->thread_cache_size,
		.cache_timeout = cfg->thread_cache_timeout,
		.proxy_timeout = cfg->proxy_timeout,
	};
}

/*
 * Make next the running configuration: the one path for start (from
 * nothing: first) and for reload.  Every step that can fail comes first
 * (the policy tables, new sockets); then every module takes its part, and
 * nothing from there on can fail: all of next or none of it.  The UDP
 * thread is parked while its sockets and policy change.  On success srv
 * owns next; 0, or -1 (logged) with nothing changed.
 */
static int
server_configure(struct server *srv, struct echod_config *next, bool first)
{
	struct listeners_change ch;
	struct metrics_change mc;
	struct tcp_settings tcp;
	struct udp_policy pol;
	struct policy p;
	bool	 rebind = first || config_sockets_differ(&srv->cfg, next);

	if (rebind && srv->activated) {
		if (!first)
			log_notice("reload: %s do not apply under socket "
			    "activation: systemd owns the sockets",
			    config_socket_keys());
		rebind = false;
	}
	if (policy_prepare(&srv->policy, next, &p) == -1)
		return -1;
	if (rebind && listeners_prepare(&srv->sockets, next, &ch) == -1) {
		policy_abort(&srv->policy, &p);
		return -1;
	}
	if (metrics_prepare(&srv->metrics, next, &mc) == -1) {
		if (rebind)
			listeners_abort(&ch);
		policy_abort(&srv->policy, &p);
		return -1;
	}
	/* The commit: nothing from here on can fail. */
	metrics_commit(&srv->metrics, &mc);
	udp_service_pause(&srv->udp_service);
	if (rebind)
		listeners_commit(&srv->sockets, &ch);
	policy_commit(&srv->policy, &p);
	tcp_settings_of(next, &tcp);
	tcp.proxy_from = srv->policy.proxy_from;
	tcp_service_set(srv->tcp, &tcp, srv->policy.acl, srv->policy.tcp_rate);
	policy_udp(&srv->policy, next, &srv->sockets, &pol);
	udp_service_resume_with(&srv->udp_service, srv->sockets.udp,
	    srv->sockets.nudp, &pol);
	log_set_level(srv->opts.verbose ? LOG_LEVEL_DEBUG : next->log_level);
	if (!first)
		config_free(&srv->cfg);
	srv->cfg = *next;
	return 0;
}

int
server_open(struct server *srv, const struct echod_config *cfg,
    const struct server_options *opts)
{
	static const struct udp_policy none;
	struct echod_config first = *cfg;
	int	 n;

	memset(srv, 0, sizeof(*srv));
	srv->opts = *opts;
	fdlimit_raise(cfg);
	if (counters_init(&srv->counters) == -1) {
		log_err("cannot set up the counters");
		return -1;
	}
	counters_attach(&srv->counters, &srv->ctr);
	if (metrics_init(&srv->metrics, &srv->counters) == -1)
		goto fail_counters;
	if (policy_init(&srv->policy) == -1)
		goto fail_metrics;
	if ((srv->tcp = tcp_service_new(&srv->counters)) == NULL) {
		log_err("cannot set up the TCP service");
		goto fail_policy;
	}
	/* Always running, so enabling udp on reload needs no new thread. */
	if (udp_service_start(&srv->udp_service, NULL, 0, &srv->counters,
	    &none) == -1)
		goto fail_tcp;
	/* Sockets from systemd replace the config's for good. */
	if ((n = notify_listen_fds()) < 0) {
		log_err("socket activation: LISTEN_FDS");
		goto fail;
	}
	if (n > 0) {
		if (listeners_adopt(&srv->sockets, n, cfg) == -1)
			goto fail;
		srv->activated = true;
		log_info("socket activation: serving the %d sockets systemd "
		    "passed; %s are ignored", n, config_socket_keys());
	}
	if (server_configure(srv, &first, true) == -1)
		goto fail;
	return 0;
fail:
	udp_service_stop(&srv->udp_service);
	listeners_close(&srv->sockets);
fail_tcp:
	(void)tcp_service_shutdown(srv->tcp, 0);
	tcp_service_free(srv->tcp);
fail_policy:
	policy_free(&srv->policy);
fail_metrics:
	metrics_close(&srv->metrics);
fail_counters:
	counters_detach(&srv->counters, &srv->ctr);
	counters_destroy(&srv->counters);
	return -1;
}

void
server_log_stats(struct server *srv)
{
	uint64_t v[CTR_COUNT];
	/* LOG_LINE_MAX less "echod: stats: " and the newline. */
	char	 line[2032];

	counters_read(&srv->counters, v);
	(void)counters_format(v, line, sizeof(line));
	log_force(LOG_LEVEL_NOTICE, "stats: %s", line);
}

/* STATUS= for systemctl status; sent only when it changed. */
static void
update_status(struct server *srv, char *last, size_t size)
{
	uint64_t v[CTR_COUNT];
	char	 now[128];

	counters_read(&srv->counters, v);
	snprintf(now, sizeof(now), "%llu TCP clients (peak %llu, %llu total), "
	    "%llu datagrams echoed", (unsigned long long)v[CTR_TCP_CLIENTS],
	    (unsigned long long)v[CTR_TCP_CLIENTS_PEAK],
	    (unsigned long long)v[CTR_TCP_ACCEPTED],
	    (unsigned long long)v[CTR_UDP_DATAGRAMS_OUT]);
	if (strcmp(now, last) == 0)
		return;
	snprintf(last, size, "%s", now);
	notify_status("%s", now);
}

/*
 * Read the whole file first, then open any new sockets (the only step
 * that can fail), and only then apply everything: a reload is all of the
 * new configuration or none of it.
 */
int
server_reload(struct server *srv)
{
	struct echod_config next;
	const char *path = srv->opts.config_path;
	int	 rc = -1;

	if (path == NULL) {
		log_notice("reload: started without a config file; nothing "
		    "to reload");
		return 0;
	}
	notify_reloading();
	log_info("reload: reading %s", path);
	if (config_load(&next, path) == -1) {
		if (errno == EINVAL)
			log_event(LOG_EVENT_RELOAD_FAILED, LOG_LEVEL_ERROR,
			    "reload: %s is invalid; the running "
			    "configuration stays", path);
		else
			log_event(LOG_EVENT_RELOAD_FAILED, LOG_LEVEL_ERROR,
			    "reload: cannot read %s; the running "
			    "configuration stays", path);
		goto out;
	}
	if (srv->opts.port > 0)
		next.port = srv->opts.port;
	if (server_configure(srv, &next, false) == -1) {
		log_event(LOG_EVENT_RELOAD_FAILED, LOG_LEVEL_ERROR,
		    "reload: the running configuration stays");
		goto fail;
	}
	log_event(LOG_EVENT_RELOAD, LOG_LEVEL_NOTICE, "reload: %s applied "
	    "(max_clients %d, idle_timeout %d, log_level %s)", path,
	    next.max_clients, next.idle_timeout,
	    log_level_name(next.log_level));
	rc = 0;
	goto out;
fail:
	config_free(&next);
out:
	counter_add(&srv->ctr, rc == 0 ? CTR_RELOADS : CTR_RELOADS_FAILED, 1);
	metrics_reloaded(&srv->metrics, rc == 0);
	notify_ready();
	return rc;
}

/* Accept on every ready listener; returns true if accept(2) ran dry. */
static bool
accept_ready(struct server *srv, const struct pollfd *pfd, size_t n)
{
	bool	 exhausted = false;
	size_t	 i;

	for (i = 0; i < n; i++)
		if (pfd[i].revents != 0 && pfd[i].fd >= 0 &&
		    tcp_accept_batch(srv->tcp, pfd[i].fd) == -1)
			exhausted = true;
	return exhausted;
}

/* How long ppoll may sleep, in ms; -1 for ever. */
static long long
poll_timeout(long long resume, bool status)
{
	long long left = resume - monotime_ms();

	if (left > 0 && (!status || left < STATUS_INTERVAL_MS))
		return left;
	return status ? STATUS_INTERVAL_MS : -1;
}

/*
 * The accept loop; returns 0 on SIGTERM/SIGINT (the signals taken in
 * *stop), or -1 on failure.
 */
static int
accept_loop(struct server *srv, const sigset_t *waitmask, int *stop)
{
	struct pollfd pfd[ECHOD_MAX_LISTEN];
	struct timespec ts;
	struct notify_watchdog wd;
	char	 status[128] = "";
	bool	 with_status = notify_enabled(), paused;
	bool	 launching = false;
	long long resume = 0, timeout, reclaim = -1;
	size_t	 i, n;
	int	 sig;

	if (notify_watchdog_init(&wd, monotime_ms()) == -1)
		log_warn("watchdog: WATCHDOG_USEC");
	for (;;) {
		(void)notify_watchdog_kick(&wd, monotime_ms(),
		    udp_service_heartbeat(&srv->udp_service));
		sig = signals_take();
		if (sig & SIGNALS_STATS)
			server_log_stats(srv);
		if (sig & SIGNALS_RELOAD)
			(void)server_reload(srv);
		if (sig & SIGNALS_STOP) {
			*stop = sig;
			return 0;
		}
		if (with_status)
			update_status(srv, status, sizeof(status));

		/* Backing off: leave the listeners out of the poll set. */
		paused = resume > monotime_ms();
		n = srv->sockets.ntcp;
		for (i = 0; i < n; i++)
			pfd[i] = (struct pollfd){
				.fd = paused ? -1 : srv->sockets.tcp[i].fd,
				.events = POLLIN,
			};
		timeout = notify_watchdog_timeout(&wd,
		    poll_timeout(resume, with_status), monotime_ms());
		/* Come back for the blocks of threads that end. */
		if (reclaim >= 0 && (timeout < 0 || timeout > reclaim))
			timeout = reclaim;
		/* Clients wait for threads: look at the listeners, then on. */
		if (launching)
			timeout = 0;
		ts.tv_sec = timeout / 1000;
		ts.tv_nsec = (timeout % 1000) * 1000000L;
		if (ppoll(pfd, n, timeout >= 0 ? &ts : NULL, waitmask) == -1) {
			if (errno == EINTR)
				continue;
			log_err("ppoll");
			return -1;
		}
		if (!paused && accept_ready(srv, pfd, n))
			resume = monotime_ms() + ACCEPT_BACKOFF_MS;
		launching = tcp_launch(srv->tcp);
		reclaim = tcp_reclaim(srv->tcp);
		/* A ready listener keeps ppoll from letting signals in. */
		signals_let_in(waitmask);
	}
}

/*
 * shutdown_grace: stop taking clients (the listeners close, so a sibling
 * instance or the balancer takes new ones; UDP stops too), and keep
 * echoing to the connected ones until they leave, the grace ends, or a
 * second SIGTERM or a SIGINT cuts it short.  server_run() then closes
 * whoever is left.  Connections already in the accept queue are taken
 * first, so closing the listener resets nobody (half-open ones move to a
 * sibling with net.ipv4.tcp_migrate_req = 1).
 */
static void
drain(struct server *srv, const sigset_t *waitmask)
{
	struct pollfd pfd[ECHOD_MAX_LISTEN];
	struct notify_watchdog wd;
	struct timespec ts;
	long long end = monotime_ms() + srv->cfg.shutdown_grace * 1000LL;
	long long left;
	unsigned n, shown = (unsigned)-1;
	size_t	 i;
	int	 sig;

	for (i = 0; i < srv->sockets.ntcp; i++)
		pfd[i] = (struct pollfd){ .fd = srv->sockets.tcp[i].fd,
		    .events = POLLIN };
	if (poll(pfd, srv->sockets.ntcp, 0) > 0)
		(void)accept_ready(srv, pfd, srv->sockets.ntcp);
	listeners_close_tcp(&srv->sockets);
	udp_service_stop(&srv->udp_service);
	listeners_close(&srv->sockets);
	while (tcp_launch(srv->tcp))
		;
	(void)notify_watchdog_init(&wd, monotime_ms());
	log_notice("draining %u clients for up to %d s (shutdown_grace); "
	    "SIGTERM again or SIGINT ends it", tcp_clients(srv->tcp),
	    srv->cfg.shutdown_grace);
	for (;;) {
		(void)notify_watchdog_kick(&wd, monotime_ms(), 0);
		if ((n = tcp_clients(srv->tcp)) != shown) {
			notify_status("draining, %u clients", n);
			shown = n;
		}
		if (n == 0) {
			log_notice("drained: every client left");
			return;
		}
		if ((left = end - monotime_ms()) <= 0) {
			log_notice("shutdown_grace over: closing %u clients", n);
			return;
		}
		sig = signals_take();
		if (sig & SIGNALS_STATS)
			server_log_stats(srv);
		if (sig & SIGNALS_RELOAD)
			log_notice("reload: not while draining");
		if (sig & SIGNALS_STOP) {
			log_notice("%s: grace cut short, closing %u clients",
			    sig & SIGNALS_INTERRUPT ? "SIGINT" : "SIGTERM", n);
			return;
		}
		/* Clients leave on their threads: look again every 100 ms. */
		left = notify_watchdog_timeout(&wd, left < 100 ? left : 100,
		    monotime_ms());
		ts.tv_sec = left / 1000;
		ts.tv_nsec = (left % 1000) * 1000000L;
		if (ppoll(NULL, 0, &ts, waitmask) == -1 && errno != EINTR) {
			log_err("ppoll");
			return;
		}
		(void)tcp_reclaim(srv->tcp);
	}
}

int
server_run(struct server *srv, const sigset_t *waitmask)
{
	int	 rc, sig = 0;

	notify_ready();
	log_event(LOG_EVENT_START, LOG_LEVEL_INFO, "started (echod %s)",
	    ECHOD_VERSION);
	rc = accept_loop(srv, waitmask, &sig);
	notify_stopping();
	log_info("stopping");
	/* SIGTERM with a grace drains; SIGINT (Ctrl-C) never waits. */
	if (rc == 0 && srv->cfg.shutdown_grace > 0 &&
	    !(sig & SIGNALS_INTERRUPT))
		drain(srv, waitmask);
	/* No new clients from here on; pending ones are refused. */
	listeners_close_tcp(&srv->sockets);
	udp_service_stop(&srv->udp_service);
	if (tcp_service_shutdown(srv->tcp, SHUTDOWN_WAIT_MS) == -1)
		log_warnx("%u clients still closing after %d ms; exiting "
		    "anyway", tcp_clients(srv->tcp), SHUTDOWN_WAIT_MS);
	return rc;
}

void
server_close(struct server *srv)
{
	/* First: its thread reads the counters. */
	metrics_close(&srv->metrics);
	udp_service_stop(&srv->udp_service);
	listeners_close(&srv->sockets);
	/* Threads still running (shutdown timed out) use all of it. */
	if (tcp_service_shutdown(srv->tcp, 0) == 0) {
		tcp_service_free(srv->tcp);
		counters_detach(&srv->counters, &srv->ctr);
		counters_destroy(&srv->counters);
		policy_free(&srv->policy);
		config_free(&srv->cfg);
	}
	log_event(LOG_EVENT_STOP, LOG_LEVEL_INFO, "stopped");
}
