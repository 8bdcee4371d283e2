/* SPDX-License-Identifier: MIT */
/*
 * The worker pool: detached threads that run the caller's jobs, a queue of
 * jobs waiting for a thread, a cache of idle threads, and the blocks the
 * jobs live in, recycled by the accept side.  A hand-off to a cached
 * thread is a condition signal, where a new thread costs a clone, a stack
 * and a scheduler placement.
 *
 * Each block carries its own condition variable and counter shard, so a
 * thread parks on the block of the job it just ran and takes the next
 * block as it is: nothing is copied, and whatever points into a job (the
 * client registry does) stays valid from submit to the end of the job.
 */

#include <sys/queue.h>

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "echod/workers.h"

#define SPARE_KEEP		64	/* spare blocks kept for reuse */
#define TRIM_AFTER		256	/* blocks freed at once: then trim */
#define RECLAIM_SOON		100	/* ms, while threads start */
#define RECLAIM_LATER		1000	/* ms, while threads may end */

struct block {
	TAILQ_ENTRY(block)	 link;		/* queue, idle or spare */
	pthread_cond_t		 wake;		/* idle: a job came */
	struct block		*next;		/* idle: the job handed over */
	struct workers		*pool;
	struct counter_shard	 ctr;		/* its running thread's */
	alignas(max_align_t) unsigned char job[];
};

TAILQ_HEAD(blocks, block);

struct workers {
	pthread_mutex_t		 lock;
	pthread_cond_t		 drained;	/* threads reached 0 */
	pthread_attr_t		 attr;		/* detached, stack size */
	struct workers_ops	 ops;
	void			*ctx;
	size_t			 job_size;
	struct counters		*counters;
	struct counter_shard	 ctr;		/* the accept side's */
	enum counter_id		 ctr_started;
	enum counter_id		 ctr_cached;
	struct blocks		 queue;		/* submitted, no thread yet */
	struct blocks		 idle;		/* cached threads, newest first */
	struct blocks		 spare;		/* ended jobs' blocks */
	unsigned		 nidle;
	unsigned		 nspare;
	unsigned		 threads;	/* alive or about to start */
	unsigned		 starting;	/* queued, not yet running */
	unsigned		 untrimmed;	/* blocks freed, heap not trimmed */
	unsigned		 cache_size;
	int			 cache_timeout;	/* seconds */
	bool			 stopping;
};

#define JOB_BLOCK(job) \
	((struct block *)(void *)((unsigned char *)(job) - \
	    offsetof(struct block, job)))

/* A condition variable whose deadlines ignore wall-clock jumps. */
static int
cond_init_monotonic(pthread_cond_t *cv)
{
	pthread_condattr_t ca;
	int	 rc;

	if ((rc = pthread_condattr_init(&ca)) != 0)
		return rc;
	if ((rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC)) == 0)
		rc = pthread_cond_init(cv, &ca);
	pthread_condattr_destroy(&ca);
	return rc;
}

static void
deadline_in(struct timespec *ts, long long ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

struct workers *
workers_new(size_t job_size, size_t stack_size, const struct workers_ops *ops,
    void *ctx, struct counters *counters, enum counter_id started,
    enum counter_id cached)
{
	struct workers *w;
	long	 min = sysconf(_SC_THREAD_STACK_MIN);
	int	 rc;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->ops = *ops;
	w->ctx = ctx;
	w->job_size = job_size;
	w->counters = counters;
	w->ctr_started = started;
	w->ctr_cached = cached;
	TAILQ_INIT(&w->queue);
	TAILQ_INIT(&w->idle);
	TAILQ_INIT(&w->spare);
	if (min > 0 && (size_t)min > stack_size)
		stack_size = (size_t)min;
	if ((rc = pthread_mutex_init(&w->lock, NULL)) != 0)
		goto fail;
	if ((rc = cond_init_monotonic(&w->drained)) != 0)
		goto fail_mutex;
	if ((rc = pthread_attr_init(&w->attr)) != 0)
		goto fail_cond;
	if ((rc = pthread_attr_setdetachstate(&w->attr,
	    PTHREAD_CREATE_DETACHED)) != 0 ||
	    (rc = pthread_attr_setstacksize(&w->attr, stack_size)) != 0) {
		pthread_attr_destroy(&w->attr);
		goto fail_cond;
	}
	counters_attach(counters, &w->ctr);
	return w;
fail_cond:
	pthread_cond_destroy(&w->drained);
fail_mutex:
	pthread_mutex_destroy(&w->lock);
fail:
	free(w);
	errno = rc;
	return NULL;
}

static void
block_free(struct workers *w, struct block *b)
{
	counters_detach(w->counters, &b->ctr);
	pthread_cond_destroy(&b->wake);
	free(b);
}

void
workers_free(struct workers *w)
{
	struct block *b;

	if (w == NULL)
		return;
	while ((b = TAILQ_FIRST(&w->spare)) != NULL) {
		TAILQ_REMOVE(&w->spare, b, link);
		block_free(w, b);
	}
	counters_detach(w->counters, &w->ctr);
	pthread_attr_destroy(&w->attr);
	pthread_cond_destroy(&w->drained);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

void *
workers_alloc(struct workers *w)
{
	struct block *b;

	pthread_mutex_lock(&w->lock);
	if ((b = TAILQ_FIRST(&w->spare)) != NULL) {
		TAILQ_REMOVE(&w->spare, b, link);
		w->nspare--;
	}
	pthread_mutex_unlock(&w->lock);
	if (b == NULL) {
		if ((b = malloc(sizeof(*b) + w->job_size)) == NULL)
			return NULL;
		if (cond_init_monotonic(&b->wake) != 0) {
			free(b);
			errno = ENOMEM;
			return NULL;
		}
		b->pool = w;
		counters_attach(w->counters, &b->ctr);
	}
	b->next = NULL;
	return b->job;
}

/* A block whose job is over goes back to the accept side, which frees it. */
static void
spare_push_locked(struct workers *w, struct block *b)
{
	TAILQ_INSERT_HEAD(&w->spare, b, link);
	w->nspare++;
}

void
workers_release(struct workers *w, void *job)
{
	pthread_mutex_lock(&w->lock);
	spare_push_locked(w, JOB_BLOCK(job));
	pthread_mutex_unlock(&w->lock);
}

static void
thread_gone_locked(struct workers *w)
{
	if (--w->threads == 0)
		pthread_cond_broadcast(&w->drained);
}

/*
 * After running b's job: the next block to run (a queued job, or one
 * handed over while cached), or NULL when this thread should end.  b goes
 * back to the spare list either way.
 */
static struct block *
worker_next(struct workers *w, struct block *b)
{
	struct block *n = NULL;
	struct timespec deadline;

	pthread_mutex_lock(&w->lock);
	if (!w->stopping && (n = TAILQ_FIRST(&w->queue)) != NULL) {
		/* A job waits for a thread: this one will do. */
		TAILQ_REMOVE(&w->queue, n, link);
		w->starting--;
		w->threads--;	/* counted for a thread it no longer needs */
		goto out;
	}
	if (w->stopping || w->nidle >= w->cache_size)
		goto out;
	deadline_in(&deadline, (long long)w->cache_timeout * 1000);
	b->next = NULL;
	TAILQ_INSERT_HEAD(&w->idle, b, link);
	counters_set_gauge(w->counters, w->ctr_cached, ++w->nidle);
	while (b->next == NULL && !w->stopping && w->nidle <= w->cache_size)
		if (pthread_cond_timedwait(&b->wake, &w->lock, &deadline) ==
		    ETIMEDOUT)
			break;
	/* A hand-off took b off the idle list; anything else, off it goes. */
	if ((n = b->next) == NULL) {
		TAILQ_REMOVE(&w->idle, b, link);
		counters_set_gauge(w->counters, w->ctr_cached, --w->nidle);
	}
out:
	spare_push_locked(w, b);
	if (n == NULL)
		thread_gone_locked(w);
	pthread_mutex_unlock(&w->lock);
	return n;
}

static void *
worker_thread(void *arg)
{
	struct block *b = arg;
	struct workers *w = b->pool;

	pthread_mutex_lock(&w->lock);
	w->starting--;
	pthread_mutex_unlock(&w->lock);
	do
		w->ops.run(b->job, &b->ctr, w->ctx);
	while ((b = worker_next(w, b)) != NULL);
	return NULL;
}

void
workers_submit(struct workers *w, void *job)
{
	struct block *b = JOB_BLOCK(job), *t;
	bool	 handed;

	pthread_mutex_lock(&w->lock);
	t = TAILQ_FIRST(&w->idle);
	handed = t != NULL;
	if (handed) {
		TAILQ_REMOVE(&w->idle, t, link);
		counters_set_gauge(w->counters, w->ctr_cached, --w->nidle);
		t->next = b;
		/* Under the lock: once it runs, t may be reused. */
		pthread_cond_signal(&t->wake);
	} else {
		/*
		 * Queued for workers_launch(): the accept loop drains the
		 * listen queue first and starts threads after, so a burst
		 * waits here, not in a full backlog that drops SYNs.
		 */
		TAILQ_INSERT_TAIL(&w->queue, b, link);
		w->threads++;
		w->starting++;
	}
	pthread_mutex_unlock(&w->lock);
	if (handed && w->ops.launched != NULL)
		w->ops.launched(w->ctx);
}

bool
workers_launch(struct workers *w, unsigned max)
{
	struct block *b;
	pthread_t tid;
	unsigned started = 0, i;
	bool	 more;
	int	 rc;

	for (i = 0; i < max; i++) {
		pthread_mutex_lock(&w->lock);
		if ((b = TAILQ_FIRST(&w->queue)) != NULL)
			TAILQ_REMOVE(&w->queue, b, link);
		pthread_mutex_unlock(&w->lock);
		if (b == NULL)
			break;
		if ((rc = pthread_create(&tid, &w->attr, worker_thread,
		    b)) == 0) {
			if (w->ops.launched != NULL)
				w->ops.launched(w->ctx);
			started++;
			continue;
		}
		pthread_mutex_lock(&w->lock);
		w->starting--;
		thread_gone_locked(w);
		pthread_mutex_unlock(&w->lock);
		w->ops.drop(b->job, rc, w->ctx);
		workers_release(w, b->job);
	}
	counter_add(&w->ctr, w->ctr_started, started);
	pthread_mutex_lock(&w->lock);
	more = !TAILQ_EMPTY(&w->queue);
	pthread_mutex_unlock(&w->lock);
	return more;
}

int
workers_reclaim(struct workers *w)
{
	struct blocks extra = TAILQ_HEAD_INITIALIZER(extra);
	struct block *b;
	unsigned freed = 0, starting, threads;

	pthread_mutex_lock(&w->lock);
	while (w->nspare > SPARE_KEEP) {
		b = TAILQ_LAST(&w->spare, blocks);
		TAILQ_REMOVE(&w->spare, b, link);
		TAILQ_INSERT_TAIL(&extra, b, link);
		w->nspare--;
	}
	starting = w->starting;
	threads = w->threads;
	pthread_mutex_unlock(&w->lock);
	while ((b = TAILQ_FIRST(&extra)) != NULL) {
		TAILQ_REMOVE(&extra, b, link);
		block_free(w, b);
		freed++;
	}
	/*
	 * Freed in any order, blocks leave their pages in the middle of the
	 * heap, which free() never returns: once a crowd has come (no thread
	 * still starting) and gone (nothing more to free, or plenty), trim.
	 */
	w->untrimmed += freed;
	if (starting == 0 && w->untrimmed > 0 && (freed == 0 ||
	    threads == 0 || w->untrimmed >= TRIM_AFTER)) {
		(void)malloc_trim(0);
		w->untrimmed = 0;
	}
	if (starting > 0)
		return RECLAIM_SOON;
	/* Each thread that ends hands its block back: come and free it. */
	return threads > 0 ? RECLAIM_LATER : -1;
}

void
workers_set_cache(struct workers *w, unsigned size, int timeout)
{
	struct block *b;

	pthread_mutex_lock(&w->lock);
	w->cache_size = size;
	w->cache_timeout = timeout;
	/* The surplus sees nidle > cache_size and leaves. */
	if (w->nidle > size)
		TAILQ_FOREACH(b, &w->idle, link)
			pthread_cond_signal(&b->wake);
	pthread_mutex_unlock(&w->lock);
}

unsigned
workers_threads(struct workers *w)
{
	unsigned n;

	pthread_mutex_lock(&w->lock);
	n = w->threads;
	pthread_mutex_unlock(&w->lock);
	return n;
}

int
workers_shutdown(struct workers *w, int timeout_ms)
{
	struct blocks dropped = TAILQ_HEAD_INITIALIZER(dropped);
	struct timespec deadline;
	struct block *b;
	int	 rc = 0;

	deadline_in(&deadline, timeout_ms);
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	/* Jobs still waiting for a thread will have none. */
	while ((b = TAILQ_FIRST(&w->queue)) != NULL) {
		TAILQ_REMOVE(&w->queue, b, link);
		TAILQ_INSERT_TAIL(&dropped, b, link);
		w->starting--;
		thread_gone_locked(w);
	}
	TAILQ_FOREACH(b, &w->idle, link)
		pthread_cond_signal(&b->wake);
	pthread_mutex_unlock(&w->lock);
	while ((b = TAILQ_FIRST(&dropped)) != NULL) {
		TAILQ_REMOVE(&dropped, b, link);
		w->ops.drop(b->job, ESHUTDOWN, w->ctx);
		workers_release(w, b->job);
	}
	pthread_mutex_lock(&w->lock);
	while (w->threads > 0 && rc == 0)
		rc = pthread_cond_timedwait(&w->drained, &w->lock, &deadline);
	rc = w->threads > 0 ? -1 : 0;
	pthread_mutex_unlock(&w->lock);
	if (rc == -1)
		errno = ETIMEDOUT;
	return rc;
}
