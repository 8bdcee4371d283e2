/* SPDX-License-Identifier: MIT */
/*
 * TCP sessions: one detached thread per client that echoes until EOF, and
 * the registry that counts them, admits them against max_clients and shuts
 * them all down at exit.  A session unregisters before it closes its socket,
 * so sessions_shutdown() never touches a descriptor that was reused.
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
 * 16 KiB per read: a quarter of a loopback segment, and a 1024-client
 * daemon stays at 16 MiB of buffers.  The buffer lives on the heap with the
 * session, so the thread stack only holds frames.  Measured: the daemon
 * passes 200 clients of 100 KB each, resets, idle timeouts and debug
 * logging (the deepest path: vsnprintf of a peer address) with 16 KiB
 * stacks, the glibc minimum; 64 KiB leaves 4x margin for libc and signal
 * frames.  Sanitizers inflate frames several times over.
 */
#define SESSION_BUFSIZE		((size_t)16 * 1024)
#define SESSION_TRIM_AFTER	256	/* sessions at once, then trim at 0 */
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
	struct counter_shard	 ctr;		/* this thread's counters */
	struct sockaddr_storage	 peer;
	char			 buf[SESSION_BUFSIZE];
};

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
	atomic_init(&s->allocated, 0);
	atomic_init(&s->trim_due, false);
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

/*
 * Sessions freed in any order leave their touched pages in the middle of
 * the heap, which free() never returns (63 MB after 10,000 clients had
 * left): the last one freed gives them back.  Counted apart from the
 * registry, because a session is freed after it unregisters.
 */
static void
session_free(struct sessions *s, struct session *ss)
{
	free(ss);
	/* Only after a crowd: a trim per short connection would cost. */
	if (atomic_fetch_sub(&s->allocated, 1) == 1 &&
	    atomic_exchange(&s->trim_due, false))
		(void)malloc_trim(0);
}

/* Unregister first, then close: see the comment at the top. */
static void
session_end(struct session *ss)
{
	struct sessions *s = ss->owner;

	counters_detach(s->counters, &ss->ctr);
	pthread_mutex_lock(&s->lock);
	unlink_locked(s, ss);
	pthread_mutex_unlock(&s->lock);
	close(ss->fd);
	session_free(s, ss);
}

/*
 * Count why a session ended on an error (errno): a timeout (EAGAIN from
 * SO_RCVTIMEO or SO_SNDTIMEO) or a lost peer (reset, keepalive timeout).
 */
static const char *
session_lost(struct session *ss, const char *timeout)
{
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		counter_add(&ss->ctr, CTR_TCP_CLOSED_IDLE, 1);
		return timeout;
	}
	counter_add(&ss->ctr, CTR_TCP_CLOSED_ERROR, 1);
	return log_errstr(errno);
}

/* Echo until EOF, error, or (with idle_timeout) a silent client. */
static void *
session_thread(void *arg)
{
	struct session *ss = arg;
	struct sessions *s = ss->owner;
	unsigned long long total = 0;
	const char *why = "closed by peer";
	bool	 track;
	int	 timeout, keepalive, now;
	ssize_t	 n;

	/* Locked, so the idle_timeout setter can signal this thread. */
	pthread_mutex_lock(&s->lock);
	ss->thread = pthread_self();
	ss->started = true;
	pthread_mutex_unlock(&s->lock);
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
	for (;;) {
		/* Fair share may close a client only while it waits here. */
		track = atomic_load_explicit(&s->track_idle,
		    memory_order_relaxed);
		if (track)
			atomic_store_explicit(&ss->waiting, true,
			    memory_order_relaxed);
		n = recv(ss->fd, ss->buf, sizeof(ss->buf), 0);
		if (track) {
			atomic_store_explicit(&ss->waiting, false,
			    memory_order_relaxed);
			atomic_store_explicit(&ss->last_ms, now_ms(),
			    memory_order_relaxed);
		}
		if (n == 0)
			break;
		if (n == -1) {
			if (errno == EINTR)
				continue;
			why = session_lost(ss, "idle timeout");
			break;
		}
		counter_add(&ss->ctr, CTR_TCP_BYTES_IN, (uint64_t)n);
		if (net_send_all(ss->fd, ss->buf, (size_t)n) == -1) {
			why = session_lost(ss, "send timeout");
			break;
		}
		counter_add(&ss->ctr, CTR_TCP_BYTES_OUT, (uint64_t)n);
		total += (unsigned long long)n;
	}
	if (log_enabled(LOG_LEVEL_DEBUG)) {
		char	 addr[NET_ADDRSTRLEN];

		log_debug("tcp %s: %s after %llu bytes", net_format_addr(
		    (struct sockaddr *)&ss->peer, addr, sizeof(addr)), why,
		    total);
	}
	session_end(ss);
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

int
session_start(struct sessions *s, int fd, const struct sockaddr *peer,
    socklen_t peerlen, const struct ipaddr *source,
    const struct session_admission *adm, bool *evicted)
{
	struct source_slot *slot;
	struct session *ss;
	pthread_t tid;
	int	 rc;

	*evicted = false;
	if ((ss = malloc(sizeof(*ss))) == NULL)
		return -1;
	if (atomic_fetch_add(&s->allocated, 1) + 1 >= SESSION_TRIM_AFTER)
		atomic_store(&s->trim_due, true);
	ss->owner = s;
	ss->started = false;
	ss->evicted = false;
	atomic_init(&ss->waiting, false);
	atomic_init(&ss->last_ms, now_ms());
	ss->fd = fd;
	memset(&ss->peer, 0, sizeof(ss->peer));
	if (peerlen > sizeof(ss->peer))
		peerlen = sizeof(ss->peer);
	memcpy(&ss->peer, peer, peerlen);

	/* Register before the thread runs, so a shutdown in between reaches it. */
	pthread_mutex_lock(&s->lock);
	if ((slot = sources_get(&s->sources, source)) == NULL ||
	    admit_locked(s, slot, adm, evicted) == -1) {
		rc = slot == NULL ? ENOMEM : errno;
		if (slot != NULL)
			sources_release(&s->sources, slot);
		pthread_mutex_unlock(&s->lock);
		session_free(s, ss);
		errno = rc;
		return -1;
	}
	ss->src = slot;
	slot->live++;
	sources_join(slot, &ss->member);
	ss->prev = NULL;
	ss->next = s->head;
	if (s->head != NULL)
		s->head->prev = ss;
	s->head = ss;
	counters_set_gauge(s->counters, CTR_TCP_CLIENTS, ++s->count);
	pthread_mutex_unlock(&s->lock);
	counters_attach(s->counters, &ss->ctr);

	if ((rc = pthread_create(&tid, &s->attr, session_thread, ss)) != 0) {
		counters_detach(s->counters, &ss->ctr);
		pthread_mutex_lock(&s->lock);
		unlink_locked(s, ss);
		pthread_mutex_unlock(&s->lock);
		session_free(s, ss);
		errno = rc;
		return -1;
	}
	/* Only a session that really started counts toward the peak. */
	pthread_mutex_lock(&s->lock);
	if (s->count > s->peak) {
		s->peak = s->count;
		counters_set_gauge(s->counters, CTR_TCP_CLIENTS_PEAK, s->peak);
	}
	pthread_mutex_unlock(&s->lock);
	return 0;
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
	/* Wakes a thread blocked in recv() or send(); the peer sees EOF. */
	for (ss = s->head; ss != NULL; ss = ss->next)
		(void)shutdown(ss->fd, SHUT_RDWR);
	while (s->count > 0 && rc == 0)
		rc = pthread_cond_timedwait(&s->drained, &s->lock, &deadline);
	if (s->count > 0) {
		rc = -1;
		errno = ETIMEDOUT;
	} else
		rc = 0;
	pthread_mutex_unlock(&s->lock);
	return rc;
}
