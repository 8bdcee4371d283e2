/* SPDX-License-Identifier: MIT */
/*
 * Logging: one whole line per message, built on the stack and written with a
 * single locked write(2), so lines from many threads never interleave.  When
 * stderr is the journal (JOURNAL_STREAM), lines carry sd-daemon "<N>" priority
 * prefixes instead of the program name, so journalctl -p works; lifecycle
 * events go to the journal natively, with a MESSAGE_ID= of their own.
 */

#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#ifdef ECHOD_HAVE_SYSTEMD
#include <systemd/sd-journal.h>
#endif

#include "echod/log.h"

#define LOG_LINE_MAX	2048	/* the counters line is the longest */

static pthread_mutex_t	log_lock = PTHREAD_MUTEX_INITIALIZER;
static int		log_fd = STDERR_FILENO;
static atomic_int	log_threshold = LOG_LEVEL_INFO;
static int		log_journal;	/* stderr is the journal: use <N> */

/* Made once with systemd-id128 new; systemd/echod.catalog explains each. */
static const char *const event_ids[LOG_EVENT_COUNT] = {
	[LOG_EVENT_START] = "698f221535d243fab66073976aa0a46d",
	[LOG_EVENT_STOP] = "a7ddb6f579184c03a99873187c79ece6",
	[LOG_EVENT_RELOAD] = "98e72cd52d9444a69492f1264dcf5137",
	[LOG_EVENT_RELOAD_FAILED] = "ab79d35a541446b59e1c17b7cc13ec7b",
};

static const char *const level_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARNING] = "warning",
	[LOG_LEVEL_NOTICE] = "notice",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

/* systemd.exec(5): JOURNAL_STREAM is "dev:ino" of the journal's stream. */
static int
is_journal_stream(int fd)
{
	const char	*env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat	 st;
	char		*end;

	if (env == NULL)
		return 0;
	errno = 0;
	dev = strtoull(env, &end, 10);
	if (errno != 0 || end == env || *end != ':')
		return 0;
	env = end + 1;
	ino = strtoull(env, &end, 10);
	if (errno != 0 || end == env || *end != '\0')
		return 0;
	if (fstat(fd, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_init(FILE *fp, int level)
{
	pthread_mutex_lock(&log_lock);
	log_fd = fp != NULL ? fileno(fp) : STDERR_FILENO;
	log_journal = is_journal_stream(log_fd);
	pthread_mutex_unlock(&log_lock);
	log_set_level(level);
}

void
log_silence(void)
{
	pthread_mutex_lock(&log_lock);
	log_fd = -1;
	pthread_mutex_unlock(&log_lock);
}

void
log_set_level(int level)
{
	if (level < LOG_LEVEL_ERROR)
		level = LOG_LEVEL_ERROR;
	if (level > LOG_LEVEL_DEBUG)
		level = LOG_LEVEL_DEBUG;
	atomic_store_explicit(&log_threshold, level, memory_order_relaxed);
}

int
log_get_level(void)
{
	return atomic_load_explicit(&log_threshold, memory_order_relaxed);
}

int
log_enabled(int level)
{
	return level <= log_get_level();
}

int
log_level_parse(const char *name)
{
	int	 i;

	for (i = LOG_LEVEL_ERROR; i <= LOG_LEVEL_DEBUG; i++)
		if (strcasecmp(name, level_names[i]) == 0)
			return i;
	return -1;
}

const char *
log_level_name(int level)
{
	if (level < LOG_LEVEL_ERROR || level > LOG_LEVEL_DEBUG)
		return "unknown";
	return level_names[level];
}

const char *
log_errstr(int errnum)
{
	/* A static string, unlike strerror(): safe from any thread. */
	const char *msg = strerrordesc_np(errnum);

	return msg != NULL ? msg : "Unknown error";
}

static void
write_all(int fd, const char *buf, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return;	/* nowhere left to report it */
		}
		buf += n;
		len -= (size_t)n;
	}
}

/*
 * Format one line after prefix into line (LOG_LINE_MAX bytes), newline
 * included; errnum >= 0 appends its strerror.  Returns its length.
 */
static size_t __attribute__((format(printf, 4, 0)))
vlog_format(char *line, const char *prefix, int errnum, const char *fmt,
    va_list ap)
{
	char	 ebuf[128];
	size_t	 len, i;
	int	 n, size = LOG_LINE_MAX;

	n = snprintf(line, (size_t)size, "%s", prefix);
	len = n > 0 ? (size_t)n : 0;
	if (len < (size_t)size) {
		n = vsnprintf(line + len, (size_t)size - len, fmt, ap);
		if (n > 0)
			len += (size_t)n;
	}
	if (errnum >= 0 && len < (size_t)size) {
		/* GNU strerror_r returns the message, maybe not in ebuf. */
		const char *msg = strerror_r(errnum, ebuf, sizeof(ebuf));
		n = snprintf(line + len, (size_t)size - len, ": %s", msg);
		if (n > 0)
			len += (size_t)n;
	}
	if (len > (size_t)size - 2)
		len = (size_t)size - 2;	/* truncated: keep room for '\n' */
	/* Config text and peers are hostile: no control bytes reach a tty. */
	for (i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	line[len++] = '\n';
	line[len] = '\0';
	return len;
}

/* Format and write one line; errnum >= 0 appends its strerror. */
static void __attribute__((format(printf, 3, 0)))
vlog_write(int level, int errnum, const char *fmt, va_list ap)
{
	char	 line[LOG_LINE_MAX + 1], prefix[8];
	size_t	 len;
	int	 saved_errno = errno;

	if (log_journal)
		snprintf(prefix, sizeof(prefix), "<%d>", level);
	else
		snprintf(prefix, sizeof(prefix), "echod: ");
	len = vlog_format(line, prefix, errnum, fmt, ap);

	pthread_mutex_lock(&log_lock);
	if (log_fd >= 0)
		write_all(log_fd, line, len);
	pthread_mutex_unlock(&log_lock);
	errno = saved_errno;
}

bool
log_ratelimit_pass(struct log_ratelimit *rl, int interval,
    unsigned long *suppressed)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec < rl->next) {
		rl->suppressed++;
		return false;
	}
	rl->next = now.tv_sec + interval;
	*suppressed = rl->suppressed;
	rl->suppressed = 0;
	return true;
}

static void __attribute__((format(printf, 3, 0)))
vlog(int level, int errnum, const char *fmt, va_list ap)
{
	if (log_enabled(level))
		vlog_write(level, errnum, fmt, ap);
}

void
log_force(int level, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog_write(level, -1, fmt, ap);
	va_end(ap);
}

#define LOG_FUNC(name, level, with_errno)				\
void									\
name(const char *fmt, ...)						\
{									\
	va_list	 ap;							\
	int	 errnum = (with_errno) ? errno : -1;			\
									\
	va_start(ap, fmt);						\
	vlog(level, errnum, fmt, ap);					\
	va_end(ap);							\
}

LOG_FUNC(log_err, LOG_LEVEL_ERROR, 1)
LOG_FUNC(log_errx, LOG_LEVEL_ERROR, 0)
LOG_FUNC(log_warn, LOG_LEVEL_WARNING, 1)
LOG_FUNC(log_warnx, LOG_LEVEL_WARNING, 0)
LOG_FUNC(log_notice, LOG_LEVEL_NOTICE, 0)
LOG_FUNC(log_info, LOG_LEVEL_INFO, 0)
LOG_FUNC(log_debug, LOG_LEVEL_DEBUG, 0)

const char *
log_event_id(enum log_event ev)
{
	if ((int)ev < 0 || ev >= LOG_EVENT_COUNT)
		return NULL;
	return event_ids[ev];
}

void
log_event(enum log_event ev, int level, const char *fmt, ...)
{
	va_list	 ap;
	int	 saved_errno = errno;
#ifdef ECHOD_HAVE_SYSTEMD
	char	 line[LOG_LINE_MAX + 1];
	size_t	 len;
	int	 journal;

	if (!log_enabled(level))
		return;
	pthread_mutex_lock(&log_lock);
	journal = log_journal;
	pthread_mutex_unlock(&log_lock);
	if (journal && log_event_id(ev) != NULL) {
		va_start(ap, fmt);
		len = vlog_format(line, "", -1, fmt, ap);
		va_end(ap);
		line[len - 1] = '\0';	/* the journal wants no newline */
		/* Falls back to the stream if the journal's socket refuses. */
		if (sd_journal_send("MESSAGE=%s", line, "PRIORITY=%d", level,
		    "MESSAGE_ID=%s", log_event_id(ev),
		    "SYSLOG_IDENTIFIER=echod", NULL) == 0) {
			errno = saved_errno;
			return;
		}
	}
#else
	(void)ev;	/* no journal API: the ID cannot be sent */
#endif
	va_start(ap, fmt);
	vlog(level, -1, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}
