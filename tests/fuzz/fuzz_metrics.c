/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: what the metrics endpoint reads from outside.  The
 * first input line is a metrics_listen value for net_parse_hostport(),
 * the rest an HTTP Accept header for exposition_negotiate() and a string
 * for exposition_escape().  The invariants: an address and port that
 * parse format (net_format_addr()) as text that parses back to the same
 * address; the negotiation names one of the two formats; escaping leaves
 * no newline (nor a bare double quote in a label value) and undoes to the
 * input.
 */

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "echod/exposition.h"
#include "echod/net.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_hostport(const char *text)
{
	struct sockaddr_storage ss, back;
	char	 buf[NET_ADDRSTRLEN];
	socklen_t len;

	if (net_parse_hostport(text, 9107, &ss, &len) == -1)
		return;
	net_format_addr((const struct sockaddr *)&ss, buf, sizeof(buf));
	if (net_parse_hostport(buf, 1, &back, &len) == -1 ||
	    !net_same_addr(&ss, &back))
		abort();
}

/* Undo exposition_escape(); false if out is not something it writes. */
static bool
unescape_is(const char *out, const char *in, bool quote)
{
	for (; *out != '\0'; out++, in++) {
		if (*out == '\n' || (quote && *out == '"'))
			return false;
		if (*out == '\\') {
			out++;
			if (!((*out == '\\' && *in == '\\') ||
			    (*out == 'n' && *in == '\n') ||
			    (quote && *out == '"' && *in == '"')))
				return false;
		} else if (*out != *in)
			return false;
	}
	return *in == '\0';
}

static void
check_escape(const char *text, bool quote)
{
	size_t	 n = exposition_escape(text, quote, NULL, 0);
	char	*out = malloc(n + 1);

	if (out == NULL)
		return;
	if (exposition_escape(text, quote, out, n + 1) != n ||
	    strlen(out) != n || !unescape_is(out, text, quote))
		abort();
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*text = malloc(size + 1), *nl, *rest;
	enum exposition_format f;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if ((nl = strchr(text, '\n')) != NULL) {
		*nl = '\0';
		rest = nl + 1;
	} else
		rest = text + strlen(text);
	check_hostport(text);
	f = exposition_negotiate(rest);
	if (f != EXPOSITION_TEXT && f != EXPOSITION_OPENMETRICS)
		abort();
	check_escape(rest, true);
	check_escape(rest, false);
	free(text);
	return 0;
}
