#ifndef ECHOD_LOG_H
#define ECHOD_LOG_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

/* Levels follow syslog(3) priorities so they map onto journald directly. */
enum log_level {
	LOG_LEVEL_ERROR = 3,
	LOG_LEVEL_WARNING = 4,
	LOG_LEVEL_NOTICE = 5,
	LOG_LEVEL_INFO = 6,
	LOG_LEVEL_DEBUG = 7,
};

/* Send messages at or above level to fp (NULL: stderr); thread-safe after. */
void	log_init(FILE *fp, int level);
/* Write nothing from now on (-q). */
void	log_silence(void);
/* Change the threshold; safe to call while other threads log. */
void	log_set_level(int level);
/* The current threshold. */
int	log_get_level(void);
/* True when a message at level would be written (guards costly formatting). */
int	log_enabled(int level);
/* Map "error", "warning", "notice", "info", "debug" to a level; -1 if none. */
int	log_level_parse(const char *name);
/* The name of a level, for messages. */
const char *log_level_name(int level);

/* The text of errno value errnum, for a message built elsewhere. */
const char *log_errstr(int errnum);

/* A log rate limit, for errors a hostile peer can repeat at will. */
struct log_ratelimit {
	time_t		next;		/* CLOCK_MONOTONIC seconds */
	unsigned long	suppressed;	/* calls refused since the last pass */
};
/*
 * True at most once per interval seconds; *suppressed then says how many
 * calls were refused before this one.  One instance per thread.
 */
bool	log_ratelimit_pass(struct log_ratelimit *rl, int interval,
	    unsigned long *suppressed);

/* Warning with ": strerror(errno)" appended. */
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Warning without errno. */
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Error without errno (the caller is about to give up). */
void	log_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Error with ": strerror(errno)" appended. */
void	log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* At priority level whatever the threshold: output asked for (SIGUSR1). */
void	log_force(int level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/*
 * Lifecycle events with a MESSAGE_ID= in the journal, explained by
 * systemd/echod.catalog (journalctl -x).
 */
enum log_event {
	LOG_EVENT_START,		/* every socket listens */
	LOG_EVENT_STOP,			/* shutdown complete */
	LOG_EVENT_RELOAD,		/* a new configuration is in force */
	LOG_EVENT_RELOAD_FAILED,	/* the running configuration stays */
	LOG_EVENT_COUNT
};
/* The 32 hex digits of an event's MESSAGE_ID, NULL if there is none. */
const char *log_event_id(enum log_event ev);
/*
 * Log at level (not below the threshold) with the event's MESSAGE_ID:
 * through sd_journal_send(3) when stderr is the journal, else as log_info.
 */
void	log_event(enum log_event ev, int level, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* Only written at debug level. */
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* ECHOD_LOG_H */
