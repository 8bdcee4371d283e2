#ifndef ECHOD_SERVER_H
#define ECHOD_SERVER_H

#include <signal.h>
#include <stddef.h>

#include "echod/config.h"
#include "echod/listeners.h"
#include "echod/counters.h"
#include "echod/metrics.h"
#include "echod/policy.h"
#include "echod/tcp.h"
#include "echod/udp.h"

/* What the command line adds to the config file, kept across reloads. */
struct server_options {
	const char		*config_path;	/* NULL: built-in defaults */
	int			 port;		/* -p, 0 if not given */
	bool			 verbose;	/* -v: debug, whatever the file */
};

/* The running daemon: its config, sockets, sessions and UDP thread. */
struct server {
	struct echod_config	 cfg;
	struct server_options	 opts;
	bool			 activated;	/* sockets from systemd */
	struct listeners	 sockets;
	struct counters		 counters;
	struct counter_shard	 ctr;		/* reloads (main thread) */
	struct policy		 policy;	/* acl, rate-limit tables */
	struct tcp_service	*tcp;
	struct udp_service	 udp_service;
	struct metrics		 metrics;	/* the HTTP endpoint */
};

/*
 * Open every socket cfg asks for (or take systemd's, under socket
 * activation) and start the UDP thread.  Logs each socket, and any failure
 * with its address.  Returns 0, or -1 when the daemon cannot serve as
 * configured (exit 71); nothing is left open then.
 */
int	server_open(struct server *srv, const struct echod_config *cfg,
	    const struct server_options *opts);
/*
 * Tell the service manager we are ready, then accept TCP clients until
 * SIGTERM or SIGINT, letting signals in only under waitmask (from
 * signals_init()); SIGHUP reloads, SIGUSR1 logs counters.  Then stop
 * accepting, close every client and wait briefly for their threads.
 * Returns 0, or -1 on an OS failure of the loop itself.
 */
int	server_run(struct server *srv, const sigset_t *waitmask);
/* Release everything server_open() took. */
void	server_close(struct server *srv);
/* Log the counters table as one "stats: name=value ..." line (SIGUSR1). */
void	server_log_stats(struct server *srv);
/*
 * Re-read the config file (SIGHUP) and apply it without dropping clients:
 * all of it or, when the file is invalid or unreadable or a new socket
 * cannot be bound, none of it.
 * Returns 0 if the new configuration is in force, else -1 (logged).
 */
int	server_reload(struct server *srv);

#endif /* ECHOD_SERVER_H */
