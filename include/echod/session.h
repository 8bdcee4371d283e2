#ifndef ECHOD_SESSION_H
#define ECHOD_SESSION_H

#include <stddef.h>

#include "echod/clients.h"
#include "echod/counters.h"

/*
 * The echo loop of one TCP client: read, write every byte back, until EOF,
 * an error, a timeout or fair share ends it.  Runs on a worker thread.
 */

/* First reads go here: an idle or chatty client costs no more. */
#define SESSION_SMALLSIZE	((size_t)1024)

/* A client's job block in the worker pool. */
struct session {
	struct client		 client;	/* its place in the registry */
	struct clients		*clients;	/* the registry */
	char			 small[SESSION_SMALLSIZE];
};

/* The stack a session thread needs (the deepest path, measured). */
size_t	session_stack_size(void);
/*
 * Serve s until it ends, counting into ctr (its duration into counters'
 * histogram), then leave the registry and close the socket.
 */
void	session_serve(struct session *s, struct counter_shard *ctr,
	    struct counters *counters);

#endif /* ECHOD_SESSION_H */
