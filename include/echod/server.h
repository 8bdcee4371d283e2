#ifndef ECHOD_SERVER_H
#define ECHOD_SERVER_H

#include <signal.h>
#include <stddef.h>

#include "echod/config.h"
#include "echod/net.h"
#include "echod/session.h"
#include "echod/stats.h"
#include "echod/tcp.h"
#include "echod/udp.h"

/* The running daemon: its config, sockets, sessions and UDP thread. */
struct server {
	struct echod_config	 cfg;
	const char		*config_path;	/* for reload; may be NULL */
	struct listener		 tcp[ECHOD_MAX_LISTEN];
	size_t			 ntcp;
	struct listener		 udp[ECHOD_MAX_LISTEN];
	size_t			 nudp;
	struct echod_stats	 stats;
	struct sessions		 sessions;
	struct tcp_acceptor	 acceptor;
	struct udp_service	 udp_service;
};

/*
 * Open every socket cfg asks for and start the UDP thread.  Logs each
 * socket, and any failure with its address.  Returns 0, or -1 when the
 * daemon cannot serve as configured (exit 71); nothing is left open then.
 */
int	server_open(struct server *srv, const struct echod_config *cfg,
	    const char *config_path);
/*
 * Accept TCP clients until SIGTERM or SIGINT, letting signals in only
 * under waitmask (from signals_init()).  Then stop accepting, close every
 * client and wait briefly for their threads.  Returns 0, or -1 on an OS
 * failure of the loop itself.
 */
int	server_run(struct server *srv, const sigset_t *waitmask);
/* Release everything server_open() took. */
void	server_close(struct server *srv);
/* Log one line of counters (SIGUSR1). */
void	server_log_stats(struct server *srv);

#endif /* ECHOD_SERVER_H */
