#ifndef ECHOD_SESSION_H
#define ECHOD_SESSION_H

#include <sys/socket.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "echod/ipaddr.h"
#include "echod/sources.h"

struct counters;
struct session;
struct worker;

/*
 * The registry of TCP sessions: each connected client has one detached
 * thread that echoes until EOF, then frees its session and unregisters.
 */
struct sessions {
	pthread_mutex_t		 lock;
	pthread_cond_t		 drained;	/* count or threads reached 0 */
	pthread_attr_t		 attr;		/* detached, small stack */
	struct session		*head;
	unsigned		 count;
	unsigned		 peak;
	bool			 stopping;
	unsigned		 threads;	/* session threads alive */
	unsigned long long	 started;	/* threads ever started */
	struct session		*spent;		/* spare thread blocks */
	unsigned		 nspent;
	unsigned		 starting;	/* threads yet to take theirs */
	unsigned		 untrimmed;	/* copies freed, heap not trimmed */
	struct session		*queue;		/* admitted, waiting for a thread */
	struct session		*queue_tail;
	struct worker		*idle;		/* cached threads, newest first */
	unsigned		 nidle;
	unsigned		 cache_size;	/* thread_cache_size */
	int			 cache_timeout;	/* thread_cache_timeout, s */
	atomic_int		 idle_timeout;	/* seconds, 0 = never */
	atomic_int		 keepalive;	/* seconds, 0 = off */
	atomic_bool		 track_idle;	/* fair_share: note silences */
	unsigned		 evicting;	/* closed, thread not yet gone */
	struct sources		 sources;	/* clients by source */
	struct counters		*counters;
};

/* The admission limits of one new client (tcp.c owns the values). */
struct session_admission {
	unsigned		 max_clients;
	unsigned		 max_per_source;	/* 0 = no cap */
	bool			 fair_share;
};

/* Prepare an empty registry counting into counters; 0, or -1 with errno. */
int	sessions_init(struct sessions *s, struct counters *counters);
/* Release the registry; only once sessions_shutdown() has drained it. */
void	sessions_destroy(struct sessions *s);
/*
 * Register fd (a connected TCP socket from peer, whose masked address is
 * source) and hand it to a cached thread, or queue it for
 * sessions_launch().  When max_clients are connected and fair share is on,
 * a client of the heaviest source may be closed to make room: *evicted
 * says so.  On success the session owns fd.  On failure the caller still
 * owns fd and errno says why: EBUSY when max_clients are connected, EDQUOT
 * when source holds max_per_source, ESHUTDOWN when stopping, ENOMEM.
 */
int	session_start(struct sessions *s, int fd, const struct sockaddr *peer,
	    socklen_t peerlen, const struct ipaddr *source,
	    const struct session_admission *adm, bool *evicted);
/*
 * Start threads for up to max queued clients, oldest first (a thread that
 * finishes its client takes the next queued one too).  A client whose
 * thread cannot start (EAGAIN, as in thread exhaustion) is closed and
 * unregistered: *failed counts them and *peer is the last one.  True while
 * more wait.
 */
bool	sessions_launch(struct sessions *s, unsigned max, unsigned *failed,
	    struct sockaddr_storage *peer);
/*
 * Free the blocks of threads that ended, beyond a few kept for reuse, and
 * give the heap back after a crowd; the accept loop calls it.  Returns the
 * milliseconds until it should be called again (sooner while threads are
 * starting, later while any run), or -1 when no thread is left.
 */
int	sessions_reclaim(struct sessions *s);
/* Note each client's silences (fair share needs them) or not. */
void	sessions_set_fair_share(struct sessions *s, bool on);
/* Clients connected now. */
unsigned sessions_count(struct sessions *s);
/* Apply a new idle timeout to new and connected clients, at once. */
void	sessions_set_idle_timeout(struct sessions *s, int seconds);
/*
 * Keep up to size finished threads for up to timeout seconds each, to
 * serve the next clients without starting a thread; 0 keeps none.  A
 * smaller size ends the surplus at once; a new timeout counts from each
 * thread's next wait.
 */
void	sessions_set_thread_cache(struct sessions *s, unsigned size,
	    int timeout);
/* Apply TCP keepalive (seconds of silence, 0 = off) to new and connected. */
void	sessions_set_keepalive(struct sessions *s, int seconds);
/*
 * Refuse new sessions, shut every client socket down (their threads see EOF
 * and exit), end the cached threads and wait up to timeout_ms for all of
 * them; 0, or -1 with ETIMEDOUT.
 */
int	sessions_shutdown(struct sessions *s, int timeout_ms);

#endif /* ECHOD_SESSION_H */
