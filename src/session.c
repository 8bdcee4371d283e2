/* SPDX-License-Identifier: MIT */
/*
 * TCP sessions: one detached thread per client that echoes until EOF, and
 * the registry that counts them, admits them against max_clients and shuts
 * them all down at exit.  A session unregisters before it closes its socket,
 * so sessions_shutdown() never touches a descriptor that was reused.
 *
 * A thread whose client left waits up to thread_cache_timeout for the next
 * one (at most thread_cache_size wait): a hand-off is a condition signal,
 * where a new thread costs a clone, a stack and a scheduler placement.
 *
 * A thread's state and its first-read buffer live in one heap block the
 * accept side allocates and frees (struct worker), so an idle client's
 * frames stay in the stack page its thread's descriptor already takes
 * (with the tunables of tunables.h: one page, not two).  A client thread
 * never calls malloc() or free(): that would give it a malloc cache and
 * an arena, most of a kilobyte per client.
 */

#include <sys/socket.h>

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stddef.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "echod/log.h"
#include "echod/net.h"
#include "echod/session.h"
#include "echod/sources.h"
#include "echod/counters.h"

/*
 * Reads start small, in the thread's heap block: an idle or chatty client
 * costs no more.  A read that fills it moves the session to 16 KiB reads
 * (a quarter of a loopback segment) in a stack frame of its own, whose
 * pages only such clients touch.  Measured: the daemon
 * passes 200 clients of 100 KB each, resets, idle timeouts and debug
 * logging (the deepest path: vsnprintf of a peer address) with 16 KiB
 * stacks beside the buffer; 64 KiB leaves margin for libc and signal
 * frames.  Sanitizers inflate frames several times over.
 */
#define SESSION_SMALLSIZE	((size_t)1024)
#define SESSION_BUFSIZE		((size_t)16 * 1024)
#define SESSION_SPENT_KEEP	64	/* spare blocks kept for reuse */
#define SESSION_TRIM_AFTER	256	/* blocks freed at once: then trim */
#define SESSION_RECLAIM_SOON	100	/* ms, while threads start */
#define SESSION_RECLAIM_LATER	1000	/* ms, while threads may end */
#ifndef SESSION_STACKSIZE
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SESSION_STACKSIZE	((size_t)1024 * 1024)
#else
#define SESSION_STACKSIZE	((size_t)64 * 1024)
#endif
#endif

/*
 * A thread blocked in recv() keeps the timeout it entered with; a new
 * idle_timeout reaches it only through EINTR.  This signal, with a handler
 * that does nothing and no SA_RESTART, is that nudge.
 */
#define SESSION_WAKE_SIGNAL	(SIGRTMIN)

struct session {
	struct session		*prev;
	struct session		*next;
	struct sessions		*owner;
	pthread_t		 thread;	/* valid once started */
	bool			 started;
	int			 fd;
	struct source_slot	*src;		/* its source's accounting */
	struct source_member	 member;	/* in src's list */
	bool			 evicted;	/* fair share closed it */
	atomic_bool		 waiting;	/* in recv, nothing unsent */
	_Atomic long long	 last_ms;	/* last data, CLOCK_MONOTONIC */
	struct counter_shard	*ctr;		/* its thread's counters */
	struct session		*qnext;		/* waiting for a thread */
	struct sockaddr_storage	 peer;
};

/*
 * A session thread's block, from the accept side's heap: allocated with
 * its first client (and then, until a thread takes it, only that client's
 * session), handed back for reuse when the thread ends.
 */
struct worker {
	struct session		 ss;		/* the client served now */
	struct counter_shard	 ctr;
	pthread_cond_t		 wake;		/* cached: a client came */
	struct worker		*prev_idle;	/* in the cache */
	struct worker		*next_idle;
	bool			 assigned;	/* ss holds a new client */
	char			 small[SESSION_SMALLSIZE]; /* first reads */
};

#define SESSION_WORKER(session) \
	((struct worker *)(void *)((char *)(session) - offsetof(struct worker, ss)))

#define MEMBER_SESSION(m) \
	((struct session *)(void *)((char *)(m) - offsetof(struct session, member)))

static long long
now_ms(void)
{
	struct timespec ts;

	/* Coarse: a tick is plenty to tell the longest-silent client. */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
on_wake(int signo)
{
	(void)signo;
}

int
sessions_init(struct sessions *s, struct counters *counters)
{
	struct sigaction sa;
	pthread_condattr_t ca;
	long	 min = sysconf(_SC_THREAD_STACK_MIN);
	size_t	 stack = SESSION_STACKSIZE;
	int	 rc;

	memset(s, 0, sizeof(*s));
	s->counters = counters;
	atomic_init(&s->track_idle, false);
	atomic_init(&s->idle_timeout, 0);
	atomic_init(&s->keepalive, 0);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_wake;	/* no SA_RESTART: recv() returns EINTR */
	if (sigaction(SESSION_WAKE_SIGNAL, &sa, NULL) == -1)
		return -1;
	if (min > 0 && (size_t)min > stack)
		stack = (size_t)min;
	if (sources_init(&s->sources) == -1)
		return -1;
	if ((rc = pthread_mutex_init(&s->lock, NULL)) != 0)
		goto fail;
	/* Shutdown waits with a deadline; wall-clock jumps must not matter. */
	if ((rc = pthread_condattr_init(&ca)) != 0)
		goto fail_mutex;
	rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_cond_init(&s->drained, &ca);
	pthread_condattr_destroy(&ca);
	if (rc != 0)
		goto fail_mutex;
	if ((rc = pthread_attr_init(&s->attr)) != 0)
		goto fail_cond;
	if ((rc = pthread_attr_setdetachstate(&s->attr,
	    PTHREAD_CREATE_DETACHED)) != 0 ||
	    (rc = pthread_attr_setstacksize(&s->attr, stack)) != 0) {
		pthread_attr_destroy(&s->attr);
		goto fail_cond;
	}
	return 0;
fail_cond:
	pthread_cond_destroy(&s->drained);
fail_mutex:
	pthread_mutex_destroy(&s->lock);
fail:
	sources_destroy(&s->sources);
	errno = rc;
	return -1;
}

void
sessions_destroy(struct sessions *s)
{
	struct session *ss;

	while ((ss = s->spent) != NULL) {
		s->spent = ss->next;
		free(SESSION_WORKER(ss));
	}
	sources_destroy(&s->sources);
	pthread_attr_destroy(&s->attr);
	pthread_cond_destroy(&s->drained);
	pthread_mutex_destroy(&s->lock);
}

static void
unlink_locked(struct sessions *s, struct session *ss)
{
	if (ss->evicted)
		s->evicting--;
	else
		ss->src->live--;
	sources_leave(&s->sources, ss->src, &ss->member);
	if (ss->prev != NULL)
		ss->prev->next = ss->next;
	else
		s->head = ss->next;
	if (ss->next != NULL)
		ss->next->prev = ss->prev;
	counters_set_gauge(s->counters, CTR_TCP_CLIENTS, --s->count);
	if (s->count == 0)
		pthread_cond_broadcast(&s->drained);
}

/* Add ss, a client of slot, to the registry and to its source. */
static void
link_locked(struct sessions *s, struct session *ss, struct source_slot *slot)
{
	ss->src = slot;
	slot->live++;
	sources_join(slot, &ss->member);
	ss->prev = NULL;
	ss->next = s->head;
	if (s->head != NULL)
		s->head->prev = ss;
	s->head = ss;
	counters_set_gauge(s->counters, CTR_TCP_CLIENTS, ++s->count);
}

/*
 * Put to in from's place, in the registry and in its source's list, with
 * the same accounting: from's block is about to be handed back.
 */
static void
session_move_locked(struct sessions *s, struct session *from,
    struct session *to)
{
	*to = *from;
	atomic_init(&to->waiting, atomic_load(&from->waiting));
	atomic_init(&to->last_ms, atomic_load(&from->last_ms));
	/* Join before leaving, so the slot never looks empty. */
	sources_join(to->src, &to->member);
	sources_leave(&s->sources, from->src, &from->member);
	if (to->prev != NULL)
		to->prev->next = to;
	else
		s->head = to;
	if (to->next != NULL)
		to->next->prev = to;
}

/*
 * The client is gone: unregister first, then close (see the comment at the
 * top).
 */
static void
session_end(struct session *ss)
{
	struct sessions *s = ss->owner;

	pthread_mutex_lock(&s->lock);
	unlink_locked(s, ss);
	pthread_mutex_unlock(&s->lock);
	close(ss->fd);
}

/*
 * Count why a session ended on an error (errno): a timeout (EAGAIN from
 * SO_RCVTIMEO or SO_SNDTIMEO) or a lost peer (reset, keepalive timeout).
 */
static const char *
session_lost(struct session *ss, const char *timeout)
{
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		counter_add(ss->ctr, CTR_TCP_CLOSED_IDLE, 1);
		return timeout;
	}
	counter_add(ss->ctr, CTR_TCP_CLOSED_ERROR, 1);
	return log_errstr(errno);
}

/*
 * One read into buf: note the silence around it for fair share, which may
 * close a client only while it waits here.
 */
static ssize_t
session_recv(struct session *ss, char *buf, size_t size)
{
	struct sessions *s = ss->owner;
	bool	 track = atomic_load_explicit(&s->track_idle,
	    memory_order_relaxed);
	ssize_t	 n;

	if (track)
		atomic_store_explicit(&ss->waiting, true, memory_order_relaxed);
	n = recv(ss->fd, buf, size, 0);
	if (track) {
		atomic_store_explicit(&ss->waiting, false,
		    memory_order_relaxed);
		atomic_store_explicit(&ss->last_ms, now_ms(),
		    memory_order_relaxed);
	}
	return n;
}

/*
 * Echo reads of up to size bytes into buf until EOF or error; 1 when a
 * read filled buf and the caller may want a larger one, 0 when the
 * session is over (*why says how).
 */
static int
session_echo(struct session *ss, char *buf, size_t size, bool upgrade,
    unsigned long long *total, const char **why)
{
	ssize_t	 n;

	for (;;) {
		n = session_recv(ss, buf, size);
		if (n == 0)
			return 0;
		if (n == -1) {
			if (errno == EINTR)
				continue;
			*why = session_lost(ss, "idle timeout");
			return 0;
		}
		counter_add(ss->ctr, CTR_TCP_BYTES_IN, (uint64_t)n);
		if (net_send_all(ss->fd, buf, (size_t)n) == -1) {
			*why = session_lost(ss, "send timeout");
			return 0;
		}
		counter_add(ss->ctr, CTR_TCP_BYTES_OUT, (uint64_t)n);
		*total += (unsigned long long)n;
		if (upgrade && (size_t)n == size)
			return 1;
	}
}

/* A client that fills small reads: 16 KiB ones, in pages of their own. */
static __attribute__((noinline)) void
session_echo_bulk(struct session *ss, unsigned long long *total,
    const char **why)
{
	char	 buf[SESSION_BUFSIZE];

	(void)session_echo(ss, buf, sizeof(buf), false, total, why);
}

/* Set the socket options w's session needs, then echo until it ends. */
static void
session_serve(struct worker *w)
{
	struct session *ss = &w->ss;
	struct sessions *s = ss->owner;
	unsigned long long total = 0;
	const char *why = "closed by peer";
	int	 timeout, keepalive, now;
	/* metrics (issue 19): the lead ports this and the end below. */
	long long start_ms = now_ms();

	/*
	 * TCP_NODELAY comes from the listener.  The rest is set here, not
	 * under the lock: a setter stores the value before it walks the
	 * registry, so re-reading it after applying catches any change that
	 * walk applied first.  Failures only cost a timeout; keep echoing.
	 */
	if ((timeout = atomic_load(&s->idle_timeout)) > 0)
		(void)net_set_timeouts(ss->fd, timeout);
	while ((now = atomic_load(&s->idle_timeout)) != timeout)
		(void)net_set_timeouts(ss->fd, timeout = now);
	if ((keepalive = atomic_load(&s->keepalive)) > 0)
		(void)net_set_keepalive(ss->fd, keepalive);
	while ((now = atomic_load(&s->keepalive)) != keepalive)
		(void)net_set_keepalive(ss->fd, keepalive = now);
	if (session_echo(ss, w->small, sizeof(w->small), true, &total,
	    &why) == 1)
		session_echo_bulk(ss, &total, &why);
	if (log_enabled(LOG_LEVEL_DEBUG)) {
		char	 addr[NET_ADDRSTRLEN];

		log_debug("tcp %s: %s after %llu bytes", net_format_addr(
		    (struct sockaddr *)&ss->peer, addr, sizeof(addr)), why,
		    total);
	}
	/* metrics (issue 19): echod_tcp_connection_duration_seconds. */
	counter_observe_duration(ss->ctr, (uint64_t)(now_ms() - start_ms));
	session_end(ss);
}

static void	note_peak_locked(struct sessions *s);
static struct session *queue_pop_locked(struct sessions *s);

static void
idle_unlink_locked(struct sessions *s, struct worker *w)
{
	if (w->prev_idle != NULL)
		w->prev_idle->next_idle = w->next_idle;
	else
		s->idle = w->next_idle;
	if (w->next_idle != NULL)
		w->next_idle->prev_idle = w->prev_idle;
	s->nidle--;
	counters_set_gauge(s->counters, CTR_TCP_THREADS_CACHED, s->nidle);
}

/*
 * A block goes back to the accept side, which reuses or frees it: never
 * free() in a client thread (see the comment at the top).
 */
static void
spent_push_locked(struct sessions *s, struct session *ss)
{
	ss->next = s->spent;
	s->spent = ss;
	s->nspent++;
}

/* A cached thread took a queued session: no new thread will start for it. */
static void
queued_adopted_locked(struct sessions *s, struct session *copy)
{
	spent_push_locked(s, copy);
	s->starting--;
	s->threads--;	/* counted for the thread it no longer needs */
	note_peak_locked(s);
}

/*
 * Wait in the cache for the next client, up to thread_cache_timeout.
 * True with w->ss holding it, false when this thread should end: the cache
 * is full, shrank, timed out, or the daemon stops.
 */
static bool
worker_park(struct sessions *s, struct worker *w)
{
	struct session *q;
	struct timespec deadline;

	pthread_mutex_lock(&s->lock);
	if (!s->stopping && (q = queue_pop_locked(s)) != NULL) {
		/* A client waits for a thread: this one will do. */
		session_move_locked(s, q, &w->ss);
		w->ss.thread = pthread_self();
		w->ss.started = true;
		w->ss.ctr = &w->ctr;
		queued_adopted_locked(s, q);
		pthread_mutex_unlock(&s->lock);
		return true;
	}
	if (s->stopping || s->nidle >= s->cache_size) {
		pthread_mutex_unlock(&s->lock);
		return false;
	}
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += s->cache_timeout;
	w->assigned = false;
	w->prev_idle = NULL;
	w->next_idle = s->idle;
	if (s->idle != NULL)
		s->idle->prev_idle = w;
	s->idle = w;
	s->nidle++;
	counters_set_gauge(s->counters, CTR_TCP_THREADS_CACHED, s->nidle);
	while (!w->assigned && !s->stopping && s->nidle <= s->cache_size)
		if (pthread_cond_timedwait(&w->wake, &s->lock, &deadline) ==
		    ETIMEDOUT)
			break;
	/* An assignment took it off the list; anything else, off it goes. */
	if (!w->assigned)
		idle_unlink_locked(s, w);
	pthread_mutex_unlock(&s->lock);
	return w->assigned;
}

/*
 * The thread of a session: serve the client in the block session_start()
 * registered, then whichever clients the cache hands over, and end,
 * handing the block back.
 */
static void *
session_thread(void *arg)
{
	struct worker *w = SESSION_WORKER(arg);
	struct sessions *s = w->ss.owner;
	pthread_condattr_t ca;
	bool	 more;

	w->prev_idle = w->next_idle = NULL;
	w->assigned = false;
	/* Deadlines in the cache must not follow wall-clock jumps. */
	if (pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&w->wake, &ca) != 0)
		abort();	/* none of these can fail on Linux */
	pthread_condattr_destroy(&ca);
	counters_attach(s->counters, &w->ctr);
	pthread_mutex_lock(&s->lock);
	w->ss.thread = pthread_self();
	w->ss.started = true;
	w->ss.ctr = &w->ctr;
	s->starting--;
	pthread_mutex_unlock(&s->lock);
	do {
		session_serve(w);
		more = worker_park(s, w);
	} while (more);
	pthread_cond_destroy(&w->wake);
	counters_detach(s->counters, &w->ctr);
	/*
	 * The last touch of s and of w: shutdown waits for every thread to
	 * get here, and the accept side may free w once the lock is let go.
	 */
	pthread_mutex_lock(&s->lock);
	spent_push_locked(s, &w->ss);
	if (--s->threads == 0)
		pthread_cond_broadcast(&s->drained);
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/*
 * Fair share: if slot's source holds fewer clients than the heaviest
 * source, close the heaviest one's longest-silent client that waits in
 * recv() with nothing unsent.  SHUT_RD wakes its recv(), which still
 * returns any bytes already queued, and those are echoed before the
 * thread sees EOF and closes: nothing the client sent is lost.  True if a
 * client was chosen.
 */
static bool
evict_for_locked(struct sessions *s, const struct source_slot *slot)
{
	struct source_slot *heavy = sources_heaviest(&s->sources);
	struct source_member *m;
	struct session *victim = NULL, *ss;

	if (heavy == NULL || slot->live >= heavy->live)
		return false;
	for (m = heavy->members; m != NULL; m = m->next) {
		ss = MEMBER_SESSION(m);
		if (ss->evicted || !atomic_load_explicit(&ss->waiting,
		    memory_order_relaxed))
			continue;
		if (victim == NULL || atomic_load_explicit(&ss->last_ms,
		    memory_order_relaxed) < atomic_load_explicit(
		    &victim->last_ms, memory_order_relaxed))
			victim = ss;
	}
	if (victim == NULL)
		return false;
	victim->evicted = true;
	heavy->live--;
	s->evicting++;
	(void)shutdown(victim->fd, SHUT_RD);
	return true;
}

/* Admit a client of slot under the limits, or say why not (errno). */
static int
admit_locked(struct sessions *s, struct source_slot *slot,
    const struct session_admission *adm, bool *evicted)
{
	if (s->stopping) {
		errno = ESHUTDOWN;
		return -1;
	}
	if (adm->max_per_source > 0 && slot->live >= adm->max_per_source) {
		errno = EDQUOT;
		return -1;
	}
	if (s->count - s->evicting >= adm->max_clients) {
		if (!adm->fair_share || !evict_for_locked(s, slot)) {
			errno = EBUSY;
			return -1;
		}
		*evicted = true;
	}
	return 0;
}

/*
 * The spare blocks beyond the few kept for the next clients, taken off the
 * list: a crowd that leaves hands back one per thread.
 */
static struct session *
spent_surplus_locked(struct sessions *s)
{
	struct session *extra, *last = NULL;

	if (s->nspent <= SESSION_SPENT_KEEP)
		return NULL;
	extra = s->spent;
	while (s->nspent > SESSION_SPENT_KEEP) {
		last = s->spent;
		s->spent = last->next;
		s->nspent--;
	}
	last->next = NULL;
	return extra;
}

/* Free a list of spare blocks; how many. */
static unsigned
spent_free(struct session *list)
{
	struct session *ss;
	unsigned n = 0;

	while ((ss = list) != NULL) {
		list = ss->next;
		free(SESSION_WORKER(ss));
		n++;
	}
	return n;
}

int
sessions_reclaim(struct sessions *s)
{
	struct session *extra;
	unsigned freed, starting, threads;

	pthread_mutex_lock(&s->lock);
	extra = spent_surplus_locked(s);
	starting = s->starting;
	threads = s->threads;
	pthread_mutex_unlock(&s->lock);
	/*
	 * Freed in any order, they leave their pages in the middle of the
	 * heap, which free() never returns: once a crowd has come (no thread
	 * still starting) and gone (nothing more to free, or plenty), trim.
	 */
	s->untrimmed += freed = spent_free(extra);
	if (starting == 0 && s->untrimmed > 0 && (freed == 0 ||
	    threads == 0 || s->untrimmed >= SESSION_TRIM_AFTER)) {
		(void)malloc_trim(0);
		s->untrimmed = 0;
	}
	if (starting > 0)
		return SESSION_RECLAIM_SOON;
	/* Each thread that ends hands its block back: come and free it. */
	if (threads > 0)
		return SESSION_RECLAIM_LATER;
	return -1;
}

/* Only a session whose thread really runs counts toward the peak. */
static void
note_peak_locked(struct sessions *s)
{
	if (s->count > s->peak) {
		s->peak = s->count;
		counters_set_gauge(s->counters, CTR_TCP_CLIENTS_PEAK, s->peak);
	}
}

/* Fill a session for fd from peer; its source and registry links later. */
static void
session_fill(struct session *ss, struct sessions *s, int fd,
    const struct sockaddr *peer, socklen_t peerlen)
{
	ss->owner = s;
	ss->evicted = false;
	atomic_init(&ss->waiting, false);
	atomic_init(&ss->last_ms, now_ms());
	ss->fd = fd;
	memset(&ss->peer, 0, sizeof(ss->peer));
	if (peerlen > sizeof(ss->peer))
		peerlen = sizeof(ss->peer);
	memcpy(&ss->peer, peer, peerlen);
}

int
session_start(struct sessions *s, int fd, const struct sockaddr *peer,
    socklen_t peerlen, const struct ipaddr *source,
    const struct session_admission *adm, bool *evicted)
{
	struct source_slot *slot;
	struct session *ss = NULL;
	struct worker *w;
	int	 rc;

	*evicted = false;
	/* Register before the thread runs, so a shutdown in between reaches it. */
	pthread_mutex_lock(&s->lock);
	if ((slot = sources_get(&s->sources, source)) == NULL ||
	    admit_locked(s, slot, adm, evicted) == -1) {
		rc = slot == NULL ? ENOMEM : errno;
		if (slot != NULL)
			sources_release(&s->sources, slot);
		pthread_mutex_unlock(&s->lock);
		errno = rc;
		return -1;
	}
	if ((w = s->idle) != NULL) {
		/* A cached thread: it takes the client into its own block. */
		idle_unlink_locked(s, w);
		session_fill(&w->ss, s, fd, peer, peerlen);
		link_locked(s, &w->ss, slot);
		note_peak_locked(s);
		w->assigned = true;
		/* Under the lock: once it runs, w may leave and be gone. */
		pthread_cond_signal(&w->wake);
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	/*
	 * Queued for sessions_launch(): the accept loop drains the listen
	 * queue first and starts threads after, so a burst waits here, not
	 * in a full backlog that drops SYNs.  Its thread, or a cached one,
	 * takes it from this block.
	 */
	if ((ss = s->spent) != NULL) {
		s->spent = ss->next;
		s->nspent--;
	} else if ((w = malloc(sizeof(*w))) != NULL)
		ss = &w->ss;
	else {
		sources_release(&s->sources, slot);
		pthread_mutex_unlock(&s->lock);
		errno = ENOMEM;
		return -1;
	}
	session_fill(ss, s, fd, peer, peerlen);
	ss->started = false;
	ss->ctr = NULL;
	link_locked(s, ss, slot);
	s->threads++;
	s->starting++;
	ss->qnext = NULL;
	if (s->queue_tail != NULL)
		s->queue_tail->qnext = ss;
	else
		s->queue = ss;
	s->queue_tail = ss;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/* The oldest session waiting for a thread, off the queue; NULL if none. */
static struct session *
queue_pop_locked(struct sessions *s)
{
	struct session *ss = s->queue;

	if (ss != NULL && (s->queue = ss->qnext) == NULL)
		s->queue_tail = NULL;
	return ss;
}

/* A queued session that will have no thread: unregister, keep the copy. */
static void
queued_drop_locked(struct sessions *s, struct session *ss)
{
	unlink_locked(s, ss);
	s->starting--;
	if (--s->threads == 0)
		pthread_cond_broadcast(&s->drained);
	spent_push_locked(s, ss);
}

bool
sessions_launch(struct sessions *s, unsigned max, unsigned *failed,
    struct sockaddr_storage *peer)
{
	struct session *ss;
	pthread_t tid;
	unsigned started = 0, i;
	bool	 more;
	int	 rc, fd;

	*failed = 0;
	for (i = 0; i < max; i++) {
		pthread_mutex_lock(&s->lock);
		ss = queue_pop_locked(s);
		pthread_mutex_unlock(&s->lock);
		if (ss == NULL)
			break;
		if ((rc = pthread_create(&tid, &s->attr, session_thread,
		    ss)) == 0) {
			started++;
			continue;
		}
		/* No thread: the client is closed, as if refused. */
		pthread_mutex_lock(&s->lock);
		*peer = ss->peer;
		fd = ss->fd;
		queued_drop_locked(s, ss);
		pthread_mutex_unlock(&s->lock);
		close(fd);
		(*failed)++;
		errno = rc;
	}
	pthread_mutex_lock(&s->lock);
	/* Only a session whose thread really runs counts toward the peak. */
	if (started > 0) {
		note_peak_locked(s);
		s->started += started;
		counters_set_gauge(s->counters, CTR_TCP_THREADS_STARTED,
		    s->started);
	}
	more = s->queue != NULL;
	pthread_mutex_unlock(&s->lock);
	return more;
}

void
sessions_set_fair_share(struct sessions *s, bool on)
{
	atomic_store_explicit(&s->track_idle, on, memory_order_relaxed);
}

unsigned
sessions_count(struct sessions *s)
{
	unsigned n;

	pthread_mutex_lock(&s->lock);
	n = s->count;
	pthread_mutex_unlock(&s->lock);
	return n;
}

void
sessions_set_idle_timeout(struct sessions *s, int seconds)
{
	struct session *ss;

	atomic_store(&s->idle_timeout, seconds);
	pthread_mutex_lock(&s->lock);
	for (ss = s->head; ss != NULL; ss = ss->next) {
		(void)net_set_timeouts(ss->fd, seconds);
		/* Registered, so its thread has not exited yet. */
		if (ss->started)
			(void)pthread_kill(ss->thread, SESSION_WAKE_SIGNAL);
	}
	pthread_mutex_unlock(&s->lock);
}

void
sessions_set_thread_cache(struct sessions *s, unsigned size, int timeout)
{
	struct worker *w;

	pthread_mutex_lock(&s->lock);
	s->cache_size = size;
	s->cache_timeout = timeout;
	/* The surplus sees nidle > cache_size and leaves. */
	if (s->nidle > size)
		for (w = s->idle; w != NULL; w = w->next_idle)
			pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&s->lock);
}

void
sessions_set_keepalive(struct sessions *s, int seconds)
{
	struct session *ss;

	atomic_store(&s->keepalive, seconds);
	pthread_mutex_lock(&s->lock);
	/* Takes effect on the next idle period; no thread needs waking. */
	for (ss = s->head; ss != NULL; ss = ss->next)
		(void)net_set_keepalive(ss->fd, seconds);
	pthread_mutex_unlock(&s->lock);
}

int
sessions_shutdown(struct sessions *s, int timeout_ms)
{
	struct session *ss;
	struct worker *w;
	struct timespec deadline;
	int	 rc = 0;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}

	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	/* Clients still waiting for a thread will have none. */
	while ((ss = queue_pop_locked(s)) != NULL) {
		(void)shutdown(ss->fd, SHUT_RDWR);
		close(ss->fd);
		queued_drop_locked(s, ss);
	}
	/* Wakes a thread blocked in recv() or send(); the peer sees EOF. */
	for (ss = s->head; ss != NULL; ss = ss->next)
		(void)shutdown(ss->fd, SHUT_RDWR);
	for (w = s->idle; w != NULL; w = w->next_idle)
		pthread_cond_signal(&w->wake);
	while ((s->count > 0 || s->threads > 0) && rc == 0)
		rc = pthread_cond_timedwait(&s->drained, &s->lock, &deadline);
	if (s->count > 0 || s->threads > 0) {
		rc = -1;
		errno = ETIMEDOUT;
	} else
		rc = 0;
	pthread_mutex_unlock(&s->lock);
	return rc;
}
