/* SPDX-License-Identifier: MIT */
/*
 * Configuration: the libconfuse schema (whose defaults are the contract), the
 * validators that run while libconfuse still knows the line, the checks that
 * span keys, and the copy into struct echod_config.  The only file that
 * includes <confuse.h>.
 */

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <confuse.h>

#include "echod/config.h"
#include "echod/log.h"
#include "echod/net.h"

#define CONFIG_BUF_NAME	"(string)"
#define CONFIG_MAX_BYTES	1048576	/* 1 MiB: no config is larger */

struct int_range {
	const char	*key;
	long		 min;
	long		 max;
};

static const struct int_range int_ranges[] = {
	{ "port",		1, 65535 },
	{ "backlog",		1, INT_MAX },
	{ "max_clients",	1, ECHOD_MAX_CLIENTS_LIMIT },
	{ "idle_timeout",	0, INT_MAX },
};

static const struct int_range *
int_range_find(const char *key)
{
	size_t	 i;

	for (i = 0; i < sizeof(int_ranges) / sizeof(int_ranges[0]); i++)
		if (strcmp(int_ranges[i].key, key) == 0)
			return &int_ranges[i];
	return NULL;
}

/*
 * Validators run right after libconfuse parsed the option, so cfg->line is
 * still its line and config_error() can name it.
 */
static int
validate_int(cfg_t *cfg, cfg_opt_t *opt)
{
	const struct int_range *r = int_range_find(opt->name);
	long	 v = cfg_opt_getnint(opt, 0);

	if (r != NULL && (v < r->min || v > r->max)) {
		cfg_error(cfg, "%s %ld out of range %ld..%ld", opt->name, v,
		    r->min, r->max);
		return -1;
	}
	return 0;
}

static int
validate_listen(cfg_t *cfg, cfg_opt_t *opt)
{
	struct sockaddr_storage ss;
	const char *text;
	socklen_t len;
	unsigned i;

	for (i = 0; i < cfg_opt_size(opt); i++) {
		text = cfg_opt_getnstr(opt, i);
		if (net_parse_addr(text, 0, &ss, &len) == 0)
			continue;
		cfg_error(cfg, "%s: '%.64s' is not an IPv4 or IPv6 address "
		    "literal (e.g. \"0.0.0.0\", \"::\", \"127.0.0.1\")",
		    opt->name, text);
		return -1;
	}
	return 0;
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

/* libconfuse hands us a format; finish it before adding file:line. */
static void __attribute__((format(printf, 2, 0)))
config_error(cfg_t *cfg, const char *fmt, va_list ap)
{
	char	 msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (cfg->line > 0)
		log_errx("%s:%d: %s", cfg->filename, cfg->line, msg);
	else
		log_errx("%s: %s", cfg->filename, msg);
}

static cfg_t *
config_schema(void)
{
	/* Defaults here are the contract; conf/echod.conf mirrors them. */
	static cfg_opt_t opts[] = {
		CFG_INT("port", 7, CFGF_NONE),
		CFG_INT("backlog", 4096, CFGF_NONE),
		CFG_BOOL("reuseaddr", cfg_true, CFGF_NONE),
		CFG_STR_LIST("listen", "{\"0.0.0.0\", \"::\"}", CFGF_NONE),
		CFG_BOOL("tcp", cfg_true, CFGF_NONE),
		CFG_BOOL("udp", cfg_true, CFGF_NONE),
		CFG_INT("max_clients", 1024, CFGF_NONE),
		CFG_INT("idle_timeout", 0, CFGF_NONE),
		CFG_STR("log_level", "info", CFGF_NONE),
		CFG_BOOL("udp_loop_guard", cfg_true, CFGF_NONE),
		CFG_END()
	};
	cfg_t	*cfg;
	size_t	 i;

	if ((cfg = cfg_init(opts, CFGF_NONE)) == NULL)
		return NULL;
	cfg_set_error_function(cfg, config_error);
	for (i = 0; i < sizeof(int_ranges) / sizeof(int_ranges[0]); i++)
		cfg_set_validate_func(cfg, int_ranges[i].key, validate_int);
	cfg_set_validate_func(cfg, "listen", validate_listen);
	cfg_set_validate_func(cfg, "log_level", validate_log_level);
	return cfg;
}

/* Checks that span keys, after parsing; name the file since no line fits. */
static int
config_check(const struct echod_config *c, const char *name)
{
	struct sockaddr_storage a, b;
	socklen_t alen, blen;
	size_t	 i, j;

	if (!c->tcp && !c->udp) {
		log_errx("%s: tcp and udp are both false: nothing to serve",
		    name);
		return -1;
	}
	for (i = 0; i < c->nlisten; i++) {
		if (net_parse_addr(c->listen[i], 0, &a, &alen) == -1)
			return -1;	/* the validator has said why */
		for (j = 0; j < i; j++) {
			if (net_parse_addr(c->listen[j], 0, &b, &blen) == -1)
				return -1;
			if (alen == blen && memcmp(&a, &b, alen) == 0) {
				log_errx("%s: listen: address '%s' is given "
				    "twice", name, c->listen[i]);
				return -1;
			}
		}
	}
	return 0;
}

static int
config_copy(struct echod_config *c, cfg_t *cfg, const char *name)
{
	size_t	 i, n = cfg_size(cfg, "listen");

	if (n == 0) {
		log_errx("%s: listen: the list is empty; give at least one "
		    "address", name);
		return -1;
	}
	if (n > ECHOD_MAX_LISTEN) {
		log_errx("%s: listen: %zu addresses, at most %d allowed", name,
		    n, ECHOD_MAX_LISTEN);
		return -1;
	}
	memset(c, 0, sizeof(*c));
	c->port = (int)cfg_getint(cfg, "port");
	c->backlog = (int)cfg_getint(cfg, "backlog");
	c->reuseaddr = cfg_getbool(cfg, "reuseaddr");
	c->tcp = cfg_getbool(cfg, "tcp");
	c->udp = cfg_getbool(cfg, "udp");
	c->max_clients = (int)cfg_getint(cfg, "max_clients");
	c->idle_timeout = (int)cfg_getint(cfg, "idle_timeout");
	c->log_level = log_level_parse(cfg_getstr(cfg, "log_level"));
	c->udp_loop_guard = cfg_getbool(cfg, "udp_loop_guard");
	c->nlisten = n;
	for (i = 0; i < n; i++)
		snprintf(c->listen[i], sizeof(c->listen[i]), "%s",
		    cfg_getnstr(cfg, "listen", i));
	return 0;
}

/*
 * Blank out comments ("#" and "//" to the end of the line, "/" "*" to "*" "/"),
 * keeping newlines and quoted strings.  libconfuse 3.3 miscounts lines
 * around comments, so without this every message after a comment would
 * name the wrong line.
 */
static int
strip_comments(char *p, size_t len, const char *name)
{
	char	*end = p + len, quote = 0;
	int	 line = 1, start;

	for (; p < end; p++) {
		if (*p == '\n')
			line++;
		if (quote != 0) {
			if (*p == '\\' && p + 1 < end)
				p++;
			else if (*p == quote)
				quote = 0;
		} else if (*p == '"' || *p == '\'') {
			quote = *p;
		} else if (*p == '#' || (*p == '/' && p + 1 < end &&
		    p[1] == '/')) {
			for (; p < end && *p != '\n'; p++)
				*p = ' ';
		} else if (*p == '/' && p + 1 < end && p[1] == '*') {
			start = line;
			*p++ = ' ';
			*p = ' ';
			for (p++; p < end && !(*p == '*' && p + 1 < end &&
			    p[1] == '/'); p++) {
				if (*p == '\n')
					line++;
				else
					*p = ' ';
			}
			if (p == end) {
				log_errx("%s:%d: unterminated /* comment", name,
				    start);
				return -1;
			}
			*p++ = ' ';
			*p = ' ';
		}
	}
	return 0;
}

/* Read all of path (at most CONFIG_MAX_BYTES) into a new NUL-ended buffer. */
static char *
read_file(const char *path, size_t *len)
{
	struct stat st;
	char	*buf = NULL;
	FILE	*fp;
	size_t	 n;

	if ((fp = fopen(path, "r")) == NULL) {
		log_err("%s", path);
		return NULL;
	}
	if (fstat(fileno(fp), &st) == -1) {
		log_err("%s", path);
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		log_errx("%s: is a directory", path);
		goto out;
	}
	if ((buf = malloc(CONFIG_MAX_BYTES + 1)) == NULL) {
		log_err("%s", path);
		goto out;
	}
	n = fread(buf, 1, CONFIG_MAX_BYTES + 1, fp);
	if (ferror(fp)) {
		log_err("%s", path);
		goto fail;
	}
	if (n > CONFIG_MAX_BYTES) {
		log_errx("%s: larger than %d bytes; not a config file?", path,
		    CONFIG_MAX_BYTES);
		goto fail;
	}
	buf[n] = '\0';
	*len = n;
	goto out;
fail:
	free(buf);
	buf = NULL;
out:
	fclose(fp);
	return buf;
}

/* Parse text (len bytes, named name in messages) into c, or leave c be. */
static int
config_parse(struct echod_config *c, const char *name, char *text,
    size_t len)
{
	struct echod_config tmp;
	cfg_t	*cfg;
	FILE	*fp;
	int	 rc = -1, ret;

	if (strip_comments(text, len, name) == -1)
		return -1;
	if ((cfg = config_schema()) == NULL) {
		log_err("%s: cannot initialise the parser", name);
		return -1;
	}
	/* Our own name, so messages say the path the user gave. */
	free(cfg->filename);
	if ((cfg->filename = strdup(name)) == NULL) {
		log_err("%s", name);
		goto out;
	}
	/* fmemopen() refuses a size of 0; an empty file means defaults. */
	if (len > 0) {
		if ((fp = fmemopen(text, len, "r")) == NULL) {
			log_err("%s", name);
			goto out;
		}
		ret = cfg_parse_fp(cfg, fp);
		fclose(fp);
		if (ret != CFG_SUCCESS)
			goto out; /* config_error() has said where and why */
	}
	if (config_copy(&tmp, cfg, name) == -1 || config_check(&tmp, name) == -1)
		goto out;
	*c = tmp;
	rc = 0;
out:
	cfg_free(cfg);
	return rc;
}

int
config_defaults(struct echod_config *c)
{
	return config_load_buf(c, "");
}

int
config_load(struct echod_config *c, const char *path)
{
	size_t	 len;
	char	*text;
	int	 rc;

	if ((text = read_file(path, &len)) == NULL)
		return -1;
	rc = config_parse(c, path, text, len);
	free(text);
	return rc;
}

int
config_load_buf(struct echod_config *c, const char *text)
{
	char	*copy;
	int	 rc;

	if ((copy = strdup(text)) == NULL) {
		log_err("%s", CONFIG_BUF_NAME);
		return -1;
	}
	rc = config_parse(c, CONFIG_BUF_NAME, copy, strlen(copy));
	free(copy);
	return rc;
}

int
config_parse_port(const char *text, int *port)
{
	char	*end;
	long	 v;

	if (text[0] < '0' || text[0] > '9')
		return -1;
	errno = 0;
	v = strtol(text, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}
