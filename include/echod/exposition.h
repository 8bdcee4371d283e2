#ifndef ECHOD_EXPOSITION_H
#define ECHOD_EXPOSITION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "echod/counters.h"
#include "echod/procstat.h"

/*
 * The metrics page as text: every row of the counters table (grouped into
 * its family, see counters_meta()), the connection-duration histogram,
 * build and reload state, and the process_* metrics, in the Prometheus
 * text format 0.0.4 or OpenMetrics 1.0.0.  Pure: the caller gathers the
 * numbers, this only writes them, so a unit test can read every byte.
 */

enum exposition_format {
	EXPOSITION_TEXT,		/* text/plain; version=0.0.4 */
	EXPOSITION_OPENMETRICS		/* application/openmetrics-text 1.0.0 */
};

/* Everything one page shows, read at one moment. */
struct exposition_input {
	uint64_t		 v[CTR_COUNT];	/* counters_read() */
	struct counter_hist	 hist;		/* counters_read_hist() */
	const char		*version;	/* echod_build_info's label */
	uint64_t		 max_clients;	/* in force now */
	bool			 reload_ok;	/* the last reload applied */
	uint64_t		 reload_success; /* its time, Unix seconds */
	bool			 have_proc;	/* proc is filled in */
	struct procstat		 proc;
};

/*
 * The format an Accept header asks for: OpenMetrics when it names
 * application/openmetrics-text with a q at least that of text/plain (as
 * Prometheus sends), else the text format.  NULL: the text format.
 */
enum exposition_format exposition_negotiate(const char *accept);
/*
 * s as the exposition formats write it: backslash and newline escaped
 * (as \\ and \n), and the double quote (as \") where quote is set, as in
 * label values and OpenMetrics HELP.  Writes at most size bytes with the
 * NUL; returns the length it needed (as snprintf), so a short buffer shows.
 */
size_t	exposition_escape(const char *s, bool quote, char *buf, size_t size);
/* The Content-Type header value of format f. */
const char *exposition_content_type(enum exposition_format f);
/*
 * The page for in, in format f, as a NUL-terminated string on the heap
 * (the caller frees it) of *len bytes; NULL with errno ENOMEM.
 */
char	*exposition_render(const struct exposition_input *in,
	    enum exposition_format f, size_t *len);

#endif /* ECHOD_EXPOSITION_H */
