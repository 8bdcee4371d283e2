#ifndef ECHOD_WORKERS_H
#define ECHOD_WORKERS_H

#include <stdbool.h>
#include <stddef.h>

#include "echod/counters.h"

/*
 * A pool of detached threads that run jobs: each job is a block of the
 * caller's size, filled by the accept side and run by one thread.  A
 * thread whose job ended waits up to cache_timeout for the next one (at
 * most cache_size wait).  It knows nothing of what a job does.
 *
 * Blocks are allocated and freed by the caller's thread (the accept
 * loop), never by a pool thread: a thread that called malloc() would get
 * a malloc cache and an arena of its own, most of a kilobyte per client.
 */

struct workers;

/* What the pool runs: job runs a block; drop disposes of one never run. */
struct workers_ops {
	/* Run job (the caller's block) with the running thread's counters. */
	void	(*run)(void *job, struct counter_shard *ctr, void *ctx);
	/*
	 * A queued job that gets no thread (err: pthread_create's error, or
	 * ESHUTDOWN when the pool stops): undo what submitting meant.
	 */
	void	(*drop)(void *job, int err, void *ctx);
	/*
	 * Optional: a job got its thread (called by the submitting side,
	 * when the job may have ended already).
	 */
	void	(*launched)(void *ctx);
};

/*
 * A pool running jobs of job_size bytes on threads of stack_size bytes
 * (at least the system's minimum), counting thread starts into started
 * and cached threads into the gauge cached of counters; NULL with errno.
 */
struct workers *workers_new(size_t job_size, size_t stack_size,
	    const struct workers_ops *ops, void *ctx, struct counters *counters,
	    enum counter_id started, enum counter_id cached);
/* Free the pool; only once workers_shutdown() returned 0. */
void	workers_free(struct workers *w);
/* A block for a new job (reused or new, not cleared); NULL with ENOMEM. */
void	*workers_alloc(struct workers *w);
/* Give back a block that was never submitted. */
void	workers_release(struct workers *w, void *job);
/*
 * Run job: on a cached thread at once, or queued for workers_launch().
 * After this the pool owns job until ops->run returns or ops->drop runs.
 */
void	workers_submit(struct workers *w, void *job);
/*
 * Start threads for up to max queued jobs, oldest first (a thread that
 * finishes its job takes the next queued one too).  A job whose thread
 * cannot start goes to ops->drop.  True while more wait.
 */
bool	workers_launch(struct workers *w, unsigned max);
/*
 * Free the blocks of ended jobs beyond a few kept for reuse, and give the
 * heap back after a crowd.  Returns the milliseconds until it should be
 * called again, or -1 when no thread is left.
 */
int	workers_reclaim(struct workers *w);
/*
 * Keep up to size idle threads for up to timeout seconds each; a smaller
 * size ends the surplus at once.
 */
void	workers_set_cache(struct workers *w, unsigned size, int timeout);
/* Threads alive now (running a job or cached). */
unsigned workers_threads(struct workers *w);
/*
 * Stop: queued jobs go to ops->drop (ESHUTDOWN), cached threads end, and
 * wait up to timeout_ms for running jobs to return (the caller makes them
 * return, e.g. by shutting their sockets down).  0, or -1 with ETIMEDOUT.
 */
int	workers_shutdown(struct workers *w, int timeout_ms);

#endif /* ECHOD_WORKERS_H */
