#ifndef ECHOD_METRICS_H
#define ECHOD_METRICS_H

#include <sys/socket.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "echod/config.h"
#include "echod/counters.h"

/*
 * The metrics endpoint (metrics_listen): GET and HEAD /metrics over HTTP,
 * served by libmicrohttpd in its own thread, bounded in connections (in
 * all and per source), time and request size; sources outside
 * metrics_allow have their connection closed before a byte is read.  It
 * only reads the counters, so the echo paths never wait for it.  Without
 * libmicrohttpd (ECHOD_METRICS=OFF) the config refuses metrics_listen and
 * these calls do nothing.
 */

/* Connections served at once, and from one source address. */
#define METRICS_MAX_CONNECTIONS	32
#define METRICS_MAX_PER_SOURCE	4
/* Seconds a connection may stay silent. */
#define METRICS_TIMEOUT		5
/* Bytes a connection may hold for its request (line and headers). */
#define METRICS_MEMORY_LIMIT	16384

struct MHD_Daemon;
struct acl;

/* The endpoint now: owned by this module, changed by commit only. */
struct metrics {
	struct counters		*counters;	/* read, never written */
	struct MHD_Daemon	*daemon;	/* NULL: no endpoint */
	struct sockaddr_storage	 addr;		/* bound, if daemon */
	pthread_mutex_t		 lock;		/* acl, for the HTTP thread */
	struct acl		*acl;		/* metrics_allow */
	_Atomic uint64_t	 max_clients;	/* in force */
	atomic_bool		 reload_ok;	/* the last reload applied */
	_Atomic uint64_t	 reload_success; /* then, Unix seconds */
};

/* A change of endpoint, between prepare and commit or abort. */
struct metrics_change {
	struct MHD_Daemon	*daemon;	/* new, or NULL */
	struct sockaddr_storage	 addr;
	bool			 keep;		/* the running one stays */
	uint64_t		 max_clients;
	struct acl		*acl;
};

/* Set m up with no endpoint, reading counters; 0, or -1 (logged). */
int	metrics_init(struct metrics *m, struct counters *counters);
/*
 * Plan the endpoint cfg asks for: build its metrics_allow and, when
 * metrics_listen names another address, bind and start serving it (the
 * step that can fail: a port in use rejects the reload).  m is not
 * changed; the new endpoint reads it.  0, or -1 (logged, nothing kept).
 */
int	metrics_prepare(struct metrics *m, const struct echod_config *cfg,
	    struct metrics_change *ch);
/* Make ch current: stop the endpoint it replaces; cannot fail. */
void	metrics_commit(struct metrics *m, struct metrics_change *ch);
/* Forget ch: stop what prepare started. */
void	metrics_abort(struct metrics_change *ch);
/* Record a reload's outcome (echod_config_last_reload_*). */
void	metrics_reloaded(struct metrics *m, bool ok);
/* Stop the endpoint and release everything. */
void	metrics_close(struct metrics *m);

#endif /* ECHOD_METRICS_H */
