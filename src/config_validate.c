/* SPDX-License-Identifier: MIT */
/*
 * The config validators: each runs while libconfuse still knows the file
 * and line, so a bad value is refused with both.  Integers are decimal
 * only and within their key's range, addresses parse and can be bound,
 * lists stay within their limit in linear time, a key file is private.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <confuse.h>

#include "echod/cidr.h"
#include "echod/config.h"
#include "echod/log.h"
#include "echod/net.h"

#include "config_int.h"

/*
 * Every integer key is decimal: libconfuse reads integers with strtol()
 * base 0, so "idle_timeout = 0300" would be 192 and "0x10" 16, which no
 * one writing them means.  A leading zero is refused rather than read as
 * decimal, so a file never means one thing here and another to C.  Runs
 * as the value is parsed, so the message has the line.
 */
int
config_parse_int(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	const struct config_key *k = config_key_find(opt->name);
	const char *digits = value + (value[0] == '-'), *p;
	char	*end;
	long	 v;

	if (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
		cfg_error(cfg, "%s: '%.32s' is hexadecimal: integers are "
		    "decimal only", opt->name, value);
		return -1;
	}
	if (digits[0] == '0' && digits[1] >= '0' && digits[1] <= '9') {
		for (p = digits; p[0] == '0' && p[1] != '\0'; p++)
			;
		cfg_error(cfg, "%s: '%.32s' has a leading zero: integers are "
		    "decimal only (write %.32s%.32s)", opt->name, value,
		    digits != value ? "-" : "", p);
		return -1;
	}
	errno = 0;
	v = strtol(value, &end, 10);
	/* strtol() also takes blanks and "+": digits first, digits only. */
	if (digits[0] < '0' || digits[0] > '9' || *end != '\0') {
		cfg_error(cfg, "%s: '%.32s' is not a decimal integer",
		    opt->name, value);
		return -1;
	}
	if (errno == ERANGE && k != NULL) {
		cfg_error(cfg, "%s %.32s out of range %ld..%ld", opt->name,
		    value, k->min, k->max);
		return -1;
	}
	*(long *)result = v;
	return 0;
}

/*
 * Validators run right after libconfuse parsed the option, so cfg->line is
 * still its line and config_error() can name it.
 */
static int
validate_int(cfg_t *cfg, cfg_opt_t *opt)
{
	const struct config_key *k = config_key_find(opt->name);
	long	 v = cfg_opt_getnint(opt, 0);

	if (k != NULL && (v < k->min || v > k->max)) {
		cfg_error(cfg, "%s %ld out of range %ld..%ld", opt->name, v,
		    k->min, k->max);
		return -1;
	}
	return 0;
}

/*
 * libconfuse calls this once per element as the list grows: check only the
 * newest one against the limit, the syntax and the ones before it, so a
 * list costs linear time and parsing stops at the first element too many.
 */
static int
validate_listen(cfg_t *cfg, cfg_opt_t *opt)
{
	struct sockaddr_storage ss, prev;
	char	 why[128];
	unsigned n = cfg_opt_size(opt), i;
	socklen_t len, plen;
	const char *text;

	if (n == 0)
		return 0;
	if (n > ECHOD_MAX_LISTEN) {
		cfg_error(cfg, "%s: more than %d addresses", opt->name,
		    ECHOD_MAX_LISTEN);
		return -1;
	}
	text = cfg_opt_getnstr(opt, n - 1);
	if (net_parse_addr(text, 0, &ss, &len) == -1) {
		cfg_error(cfg, "%s: '%.64s' is not an IPv4 or IPv6 address "
		    "literal (e.g. \"0.0.0.0\", \"::\", \"127.0.0.1\")",
		    opt->name, text);
		return -1;
	}
	if (net_addr_bindable(&ss, why, sizeof(why)) == -1) {
		cfg_error(cfg, "%s: '%s' can never be bound: %s", opt->name,
		    text, why);
		return -1;
	}
	for (i = 0; i + 1 < n; i++) {
		if (net_parse_addr(cfg_opt_getnstr(opt, i), 0, &prev,
		    &plen) == 0 && plen == len && memcmp(&prev, &ss, len) == 0) {
			cfg_error(cfg, "%s: address '%s' is given twice",
			    opt->name, text);
			return -1;
		}
	}
	return 0;
}

/* As validate_listen: the newest element only, and the limit. */
static int
validate_cidrs(cfg_t *cfg, cfg_opt_t *opt)
{
	const struct config_key *k = config_key_find(opt->name);
	char	 err[CIDR_ERRLEN];
	struct cidr c;
	unsigned n = cfg_opt_size(opt);

	if (n == 0 || k == NULL)
		return 0;
	if (n > (unsigned long)k->max) {
		cfg_error(cfg, "%s: more than %ld entries", opt->name, k->max);
		return -1;
	}
	if (cidr_parse(cfg_opt_getnstr(opt, n - 1), &c, err,
	    sizeof(err)) == -1) {
		cfg_error(cfg, "%s: %s", opt->name, err);
		return -1;
	}
	return 0;
}

/* "" (off), or an address and port net_parse_hostport() takes. */
static int
validate_hostport(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *text = cfg_opt_getnstr(opt, 0);

	if (text == NULL || text[0] == '\0')
		return 0;
#ifndef ECHOD_HAVE_METRICS
	cfg_error(cfg, "%s: this echod was built without the metrics "
	    "endpoint (libmicrohttpd, ECHOD_METRICS=OFF); leave it \"\"",
	    opt->name);
	return -1;
#else
	struct sockaddr_storage ss;
	socklen_t len;

	if (strlen(text) >= ECHOD_HOSTPORT_MAX ||
	    net_parse_hostport(text, ECHOD_DEFAULT_METRICS_PORT, &ss,
	    &len) == -1) {
		cfg_error(cfg, "%s: '%.64s' is not an address and port such as "
		    "\"127.0.0.1:%d\" or \"[::1]:%d\" (port 1..65535)",
		    opt->name, text, ECHOD_DEFAULT_METRICS_PORT,
		    ECHOD_DEFAULT_METRICS_PORT);
		return -1;
	}
	return 0;
#endif
}

static int
validate_log_level(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *text = cfg_opt_getnstr(opt, 0);

	if (log_level_parse(text) == -1) {
		cfg_error(cfg, "%s: '%.32s' is not one of error, warning, "
		    "notice, info, debug", opt->name, text);
		return -1;
	}
	return 0;
}

static int
validate_stamp_mode(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *text = cfg_opt_getnstr(opt, 0);

	if (strcmp(text, "stateless") != 0 && strcmp(text, "stateful") != 0) {
		cfg_error(cfg, "%s: '%.32s' is not \"stateless\" or "
		    "\"stateful\"", opt->name, text);
		return -1;
	}
	return 0;
}


static int
validate_key_file(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *path = cfg_opt_getnstr(opt, 0);
	struct stamp_key *k;
	char	 why[256];
	int	 rc = 0;

	if (path[0] == '\0')
		return 0;
	if (strlen(path) >= PATH_MAX) {
		cfg_error(cfg, "%s: path too long", opt->name);
		return -1;
	}
	if ((k = malloc(sizeof(*k))) == NULL) {
		cfg_error(cfg, "%s: out of memory", opt->name);
		return -1;
	}
	if (config_read_key(path, k, why, sizeof(why)) == -1) {
		cfg_error(cfg, "%s '%s': %s", opt->name, path, why);
		rc = -1;
	}
	explicit_bzero(k, sizeof(*k));
	free(k);
	return rc;
}

cfg_validate_callback_t
config_validator(enum key_kind kind)
{
	static const cfg_validate_callback_t validators[] = {
		[KEY_INT] = validate_int,
		[KEY_BOOL] = NULL,
		[KEY_LEVEL] = validate_log_level,
		[KEY_LISTEN] = validate_listen,
		[KEY_CIDRS] = validate_cidrs,
		[KEY_STAMP_MODE] = validate_stamp_mode,
		[KEY_KEY_FILE] = validate_key_file,
		[KEY_HOSTPORT] = validate_hostport,
		[KEY_CIDR_SET] = validate_cidrs,
	};

	return validators[kind];
}
