/* SPDX-License-Identifier: MIT */
/*
 * The daemon's lifecycle: open the sockets, run the accept loop (ppoll over
 * the TCP listeners; signals are let in only there), back off when accept(2)
 * runs out of descriptors, reload on SIGHUP, keep systemd's STATUS= current,
 * and shut down in order: listeners, the UDP thread, then every client.
 */

#include <sys/resource.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "echod/log.h"
#include "echod/notify.h"
#include "echod/server.h"
#include "echod/signals.h"

#define ACCEPT_BACKOFF_MS	100	/* after EMFILE and friends */
#define SHUTDOWN_WAIT_MS	1500	/* the contract allows 2 s in all */
#define STATUS_INTERVAL_MS	1000	/* STATUS= refresh under systemd */
#define FD_RESERVE		32	/* stdio, log, eventfd, slack */

/* The kernel's ceiling for RLIMIT_NOFILE (fs.nr_open), or 0. */
static rlim_t
nr_open(void)
{
	unsigned long long v;
	char	 line[32], *end;
	FILE	*fp;

	if ((fp = fopen("/proc/sys/fs/nr_open", "re")) == NULL)
		return 0;
	if (fgets(line, sizeof(line), fp) == NULL)
		line[0] = '\0';
	fclose(fp);
	errno = 0;
	v = strtoull(line, &end, 10);
	if (errno != 0 || end == line || (*end != '\n' && *end != '\0'))
		return 0;
	return (rlim_t)v;
}

/*
 * Each client costs a descriptor: raise the soft limit to the hard one,
 * and with CAP_SYS_RESOURCE (root) the hard one too, up to fs.nr_open,
 * when max_clients needs more than it allows.
 */
static void
raise_fd_limit(const struct echod_config *cfg)
{
	struct rlimit rl, want;
	rlim_t	 need = (rlim_t)cfg->max_clients + 2 * cfg->nlisten +
	    FD_RESERVE, ceiling;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_warn("getrlimit RLIMIT_NOFILE");
		return;
	}
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
		ceiling = nr_open();
		want.rlim_max = ceiling > 0 && ceiling < need ? ceiling : need;
		want.rlim_cur = want.rlim_max;
		/* EPERM without the capability: the old hard limit stays. */
		if (want.rlim_max > rl.rlim_max &&
		    setrlimit(RLIMIT_NOFILE, &want) == 0)
			rl = want;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("cannot raise the open file limit to %llu",
			    (unsigned long long)rl.rlim_max);
		else
			(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
		log_warnx("max_clients %d needs about %llu open files but the "
		    "limit is %llu: raise it (ulimit -Hn, LimitNOFILE=, "
		    "fs.nr_open)", cfg->max_clients, (unsigned long long)need,
		    (unsigned long long)rl.rlim_cur);
}

/* Sockets from systemd, or from the config; 0 or -1 (logged). */
static int
open_sockets(struct server *srv)
{
	int	 n = notify_listen_fds();

	if (n < 0) {
		log_err("socket activation: LISTEN_FDS");
		return -1;
	}
	if (n == 0)
		return listeners_apply(&srv->sockets, &srv->cfg);
	srv->activated = true;
	log_info("socket activation: serving the %d sockets systemd passed; "
	    "%s are ignored", n, config_socket_keys());
	return listeners_adopt(&srv->sockets, n);
}

/*
 * Hand every module its part of cfg: the commit step of a reload, so
 * nothing here can fail.  Each module keeps its own copy; the UDP thread
 * is parked meanwhile (udp_service_pause()) and takes its part on resume.
 */
static void
apply_settings(struct server *srv, struct echod_config *cfg,
    const struct policy *g)
{
	struct tcp_limits lim;
	struct udp_policy pol;

	policy_commit(&srv->policy, g);
	policy_tcp_limits(cfg, &lim);
	tcp_acceptor_set_limits(&srv->acceptor, &lim);
	tcp_acceptor_set_policy(&srv->acceptor, srv->policy.acl,
	    srv->policy.tcp_rate);
	sessions_set_fair_share(&srv->sessions, cfg->fair_share);
	if (cfg->idle_timeout != srv->cfg.idle_timeout)
		sessions_set_idle_timeout(&srv->sessions, cfg->idle_timeout);
	if (cfg->tcp_keepalive != srv->cfg.tcp_keepalive)
		sessions_set_keepalive(&srv->sessions, cfg->tcp_keepalive);
	sessions_set_thread_cache(&srv->sessions,
	    (unsigned)cfg->thread_cache_size, cfg->thread_cache_timeout);
	policy_udp(&srv->policy, cfg, &srv->sockets, &pol);
	udp_service_resume_with(&srv->udp_service, srv->sockets.udp,
	    srv->sockets.nudp, &pol);
	log_set_level(srv->opts.verbose ? LOG_LEVEL_DEBUG : cfg->log_level);
	if (&srv->cfg != cfg) {
		config_free(&srv->cfg);
		srv->cfg = *cfg;
	}
}

int
server_open(struct server *srv, const struct echod_config *cfg,
    const struct server_options *opts)
{
	struct tcp_limits lim;
	struct udp_policy pol;
	struct metrics_change mc;
	struct policy g;

	memset(srv, 0, sizeof(*srv));
	srv->cfg = *cfg;
	srv->opts = *opts;
	raise_fd_limit(cfg);
	if (policy_init(&srv->policy) == -1)
		return -1;
	if (policy_prepare(&srv->policy, cfg, &g) == -1)
		return -1;
	policy_commit(&srv->policy, &g);
	if (counters_init(&srv->counters) == -1) {
		log_err("cannot set up the counters");
		goto fail_policy;
	}
	if (sessions_init(&srv->sessions, &srv->counters) == -1) {
		log_err("cannot set up the client registry");
		goto fail_counters;
	}
	sessions_set_idle_timeout(&srv->sessions, cfg->idle_timeout);
	sessions_set_keepalive(&srv->sessions, cfg->tcp_keepalive);
	sessions_set_thread_cache(&srv->sessions,
	    (unsigned)cfg->thread_cache_size, cfg->thread_cache_timeout);
	sessions_set_fair_share(&srv->sessions, cfg->fair_share);
	tcp_acceptor_init(&srv->acceptor, &srv->sessions, &srv->counters,
	    (unsigned)cfg->max_clients);
	policy_tcp_limits(cfg, &lim);
	tcp_acceptor_set_limits(&srv->acceptor, &lim);
	tcp_acceptor_set_policy(&srv->acceptor, srv->policy.acl,
	    srv->policy.tcp_rate);
	counters_attach(&srv->counters, &srv->ctr);
	if (open_sockets(srv) == -1)
		goto fail;
	if (metrics_init(&srv->metrics, &srv->counters) == -1)
		goto fail;
	if (metrics_prepare(&srv->metrics, cfg, &mc) == -1) {
		metrics_close(&srv->metrics);
		goto fail;
	}
	metrics_commit(&srv->metrics, &mc);
	/* Always running, so enabling udp on reload needs no new thread. */
	policy_udp(&srv->policy, cfg, &srv->sockets, &pol);
	if (udp_service_start(&srv->udp_service, srv->sockets.udp,
	    srv->sockets.nudp, &srv->counters, &pol) == -1) {
		metrics_close(&srv->metrics);
		goto fail;
	}
	return 0;
fail:
	listeners_close(&srv->sockets);
	counters_detach(&srv->counters, &srv->ctr);
	tcp_acceptor_destroy(&srv->acceptor);
	sessions_destroy(&srv->sessions);
fail_counters:
	counters_destroy(&srv->counters);
fail_policy:
	policy_free(&srv->policy);
	return -1;
}

void
server_log_stats(struct server *srv)
{
	uint64_t v[CTR_COUNT];
	char	 line[1536];

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
	struct listeners_change ch;
	struct metrics_change mc;
	struct echod_config next;
	struct policy g;
	const char *path = srv->opts.config_path;
	bool	 rebind = false;
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
	if (config_sockets_differ(&srv->cfg, &next)) {
		if (srv->activated)
			log_notice("reload: %s do not apply under socket "
			    "activation: systemd owns the sockets",
			    config_socket_keys());
		else
			rebind = true;
	}
	if (policy_prepare(&srv->policy, &next, &g) == -1) {
		log_event(LOG_EVENT_RELOAD_FAILED, LOG_LEVEL_ERROR,
		    "reload: the running configuration stays");
		goto fail;
	}
	if (metrics_prepare(&srv->metrics, &next, &mc) == -1) {
		policy_abort(&srv->policy, &g);
		log_event(LOG_EVENT_RELOAD_FAILED, LOG_LEVEL_ERROR,
		    "reload: the running configuration stays");
		goto fail;
	}
	if (rebind && listeners_prepare(&srv->sockets, &next, &ch) == -1) {
		metrics_abort(&mc);
		policy_abort(&srv->policy, &g);
		log_event(LOG_EVENT_RELOAD_FAILED, LOG_LEVEL_ERROR,
		    "reload: the running configuration stays");
		goto fail;
	}
	/* The commit: nothing from here on can fail. */
	metrics_commit(&srv->metrics, &mc);
	udp_service_pause(&srv->udp_service);
	if (rebind)
		listeners_commit(&srv->sockets, &ch);
	apply_settings(srv, &next, &g);
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

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Accept on every ready listener; returns true if accept(2) ran dry. */
static bool
accept_ready(struct server *srv, const struct pollfd *pfd, size_t n)
{
	bool	 exhausted = false;
	size_t	 i;

	for (i = 0; i < n; i++)
		if (pfd[i].revents != 0 && pfd[i].fd >= 0 &&
		    tcp_accept_batch(&srv->acceptor, pfd[i].fd) == -1)
			exhausted = true;
	return exhausted;
}

/* How long ppoll may sleep, in ms; -1 for ever. */
static long long
poll_timeout(long long resume, bool status)
{
	long long left = resume - now_ms();

	if (left > 0 && (!status || left < STATUS_INTERVAL_MS))
		return left;
	return status ? STATUS_INTERVAL_MS : -1;
}

/* The accept loop; returns 0 on SIGTERM/SIGINT, or -1 on failure. */
static int
accept_loop(struct server *srv, const sigset_t *waitmask)
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

	if (notify_watchdog_init(&wd, now_ms()) == -1)
		log_warn("watchdog: WATCHDOG_USEC");
	for (;;) {
		(void)notify_watchdog_kick(&wd, now_ms(),
		    udp_service_heartbeat(&srv->udp_service));
		sig = signals_take();
		if (sig & SIGNALS_STATS)
			server_log_stats(srv);
		if (sig & SIGNALS_RELOAD)
			(void)server_reload(srv);
		if (sig & SIGNALS_STOP)
			return 0;
		if (with_status)
			update_status(srv, status, sizeof(status));

		/* Backing off: leave the listeners out of the poll set. */
		paused = resume > now_ms();
		n = srv->sockets.ntcp;
		for (i = 0; i < n; i++)
			pfd[i] = (struct pollfd){
				.fd = paused ? -1 : srv->sockets.tcp[i].fd,
				.events = POLLIN,
			};
		timeout = notify_watchdog_timeout(&wd,
		    poll_timeout(resume, with_status), now_ms());
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
			resume = now_ms() + ACCEPT_BACKOFF_MS;
		launching = tcp_launch(&srv->acceptor);
		reclaim = sessions_reclaim(&srv->sessions);
		/* A ready listener keeps ppoll from letting signals in. */
		signals_let_in(waitmask);
	}
}

int
server_run(struct server *srv, const sigset_t *waitmask)
{
	int	 rc;

	notify_ready();
	log_event(LOG_EVENT_START, LOG_LEVEL_INFO, "started (echod %s)",
	    ECHOD_VERSION);
	rc = accept_loop(srv, waitmask);
	notify_stopping();
	log_info("stopping");
	/* No new clients from here on; pending ones are refused. */
	while (srv->sockets.ntcp > 0)
		close(srv->sockets.tcp[--srv->sockets.ntcp].fd);
	udp_service_stop(&srv->udp_service);
	if (sessions_shutdown(&srv->sessions, SHUTDOWN_WAIT_MS) == -1)
		log_warnx("%u clients still closing after %d ms; exiting "
		    "anyway", sessions_count(&srv->sessions), SHUTDOWN_WAIT_MS);
	return rc;
}

void
server_close(struct server *srv)
{
	/* First: its thread reads the counters. */
	metrics_close(&srv->metrics);
	udp_service_stop(&srv->udp_service);
	listeners_close(&srv->sockets);
	counters_detach(&srv->counters, &srv->ctr);
	tcp_acceptor_destroy(&srv->acceptor);
	/* Threads still running (shutdown timed out) use both. */
	if (sessions_count(&srv->sessions) == 0) {
		sessions_destroy(&srv->sessions);
		counters_destroy(&srv->counters);
		policy_free(&srv->policy);
		config_free(&srv->cfg);
	}
	log_event(LOG_EVENT_STOP, LOG_LEVEL_INFO, "stopped");
}
