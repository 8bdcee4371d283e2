#ifndef ECHOD_SIGNALS_H
#define ECHOD_SIGNALS_H

#include <signal.h>

#define SIGNALS_STOP	0x1	/* SIGTERM, SIGINT */
#define SIGNALS_RELOAD	0x2	/* SIGHUP */
#define SIGNALS_STATS	0x4	/* SIGUSR1 */
#define SIGNALS_INTERRUPT 0x8	/* SIGINT (with SIGNALS_STOP): no drain */

/*
 * Block the daemon's signals in the calling thread (so in every thread it
 * starts later), install their flag-setting handlers and ignore SIGPIPE.
 * waitmask receives the mask under which they are delivered: pass it to
 * ppoll(2), the only place they are let in, so none is missed.  0 or -1.
 */
int	signals_init(sigset_t *waitmask);
/*
 * Deliver any of the daemon's signals now pending, under waitmask.  ppoll
 * lets them in only when no descriptor is ready, so a listener that is
 * always ready (a connection flood) would hold them off for ever; the
 * loop calls this after each wake-up.
 */
void	signals_let_in(const sigset_t *waitmask);
/* The SIGNALS_* that arrived since the last call; clears them. */
int	signals_take(void);

#endif /* ECHOD_SIGNALS_H */
