#ifndef ECHOD_LISTENERS_H
#define ECHOD_LISTENERS_H

#include <stdbool.h>
#include <stddef.h>

#include "echod/config.h"
#include "echod/net.h"

/* UDP sockets: echo and STAMP on each listen address. */
#define ECHOD_MAX_UDP		((size_t)2 * ECHOD_MAX_LISTEN)

/*
 * The sockets the daemon serves: TCP, and UDP (echo first, then STAMP,
 * which the UDP thread tells apart by listener.stamp).
 */
struct listeners {
	struct listener	 tcp[ECHOD_MAX_LISTEN];
	size_t		 ntcp;
	struct listener	 udp[ECHOD_MAX_UDP];
	size_t		 nudp;
};

/*
 * A change of socket set in two steps, so a reload is a transaction:
 * prepare opens what is new (the step that can fail), commit closes what
 * goes (it cannot fail).
 */
struct listeners_change {
	struct listeners next;
	bool		 kept_tcp[ECHOD_MAX_LISTEN];	/* of the old set */
	bool		 kept_udp[ECHOD_MAX_UDP];
	bool		 fresh_tcp[ECHOD_MAX_LISTEN];	/* of next */
	bool		 fresh_udp[ECHOD_MAX_UDP];
	int		 backlog;
	bool		 reuseaddr;
	bool		 reuseport;
};

/*
 * Plan ls becoming the sockets cfg asks for: keep those already open on the
 * same address and port (so a reload drops no client) and open the others
 * into ch.  ls is not touched.  On failure (logged, naming the address)
 * nothing stays open.  0 or -1.
 */
int	listeners_prepare(const struct listeners *ls,
	    const struct echod_config *cfg, struct listeners_change *ch);
/*
 * Make ls the set ch planned: close the sockets it drops, retune the kept
 * TCP listeners.  The UDP thread must not be polling ls meanwhile.
 */
void	listeners_commit(struct listeners *ls,
	    const struct listeners_change *ch);
/* Forget ch: close the sockets prepare opened. */
void	listeners_abort(struct listeners_change *ch);
/* prepare and commit in one (at start). */
int	listeners_apply(struct listeners *ls, const struct echod_config *cfg);
/*
 * Take the n sockets systemd passed from fd 3 on (socket activation),
 * telling TCP from UDP by SO_TYPE, and a UDP socket on cfg's stamp_port
 * (with stamp = true) as STAMP's.  0, or -1 (logged) with nothing taken.
 */
int	listeners_adopt(struct listeners *ls, int n,
	    const struct echod_config *cfg);
/* Close the TCP listeners of ls (stop taking clients; UDP goes on). */
void	listeners_close_tcp(struct listeners *ls);
/* Close every socket in ls. */
void	listeners_close(struct listeners *ls);

#endif /* ECHOD_LISTENERS_H */
