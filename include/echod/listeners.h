#ifndef ECHOD_LISTENERS_H
#define ECHOD_LISTENERS_H

#include <stddef.h>

#include "echod/config.h"
#include "echod/net.h"

/* The sockets the daemon serves, TCP and UDP, at most ECHOD_MAX_LISTEN each. */
struct listeners {
	struct listener	 tcp[ECHOD_MAX_LISTEN];
	size_t		 ntcp;
	struct listener	 udp[ECHOD_MAX_LISTEN];
	size_t		 nudp;
};

/*
 * Make ls hold the sockets cfg asks for: keep those already open on the same
 * address and port (so a reload drops no client), open the others, close the
 * rest.  All or nothing: on failure (logged, naming the address) ls is
 * unchanged.  The UDP thread must not be polling ls meanwhile.  0 or -1.
 */
int	listeners_apply(struct listeners *ls, const struct echod_config *cfg);
/*
 * Take the n sockets systemd passed from fd 3 on (socket activation),
 * telling TCP from UDP by SO_TYPE.  0, or -1 (logged) with nothing taken.
 */
int	listeners_adopt(struct listeners *ls, int n);
/* True if a and b ask for different sockets. */
bool	listeners_differ(const struct echod_config *a,
	    const struct echod_config *b);
/* Close every socket in ls. */
void	listeners_close(struct listeners *ls);

#endif /* ECHOD_LISTENERS_H */
