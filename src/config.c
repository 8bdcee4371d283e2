/* SPDX-License-Identifier: MIT */
/*
 * Configuration: the key table and the libconfuse schema built from it
 * (whose defaults are the contract), the checks that span keys, and the
 * copy into struct echod_config.  The config module (config*.c) is the
 * only one that includes <confuse.h>: validators in config_validate.c,
 * reading the file in config_file.c, -T and socket keys in config_print.c.
 */

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
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


#define OFF(member)	offsetof(struct echod_config, member)
/* One row, in reading order; the struct is ordered for its size. */
#define KEY(opt, kind, offset, min, max, socket)			\
	{ opt, offset, min, max, kind, socket }

static const struct config_key config_key_table[] = {
	KEY(CFG_INT("port", 7, CFGF_NONE), KEY_INT, OFF(port), 1, 65535,
	    true),
	KEY(CFG_INT("backlog", 4096, CFGF_NONE), KEY_INT, OFF(backlog), 1,
	    INT_MAX, true),
	KEY(CFG_BOOL("reuseaddr", cfg_true, CFGF_NONE), KEY_BOOL,
	    OFF(reuseaddr), 0, 0, true),
	KEY(CFG_BOOL("freebind", cfg_false, CFGF_NONE), KEY_BOOL,
	    OFF(freebind), 0, 0, true),
	KEY(CFG_STR_LIST("listen", "{\"0.0.0.0\", \"::\"}", CFGF_NONE),
	    KEY_LISTEN, OFF(listen), 1, ECHOD_MAX_LISTEN, true),
	KEY(CFG_BOOL("tcp", cfg_true, CFGF_NONE), KEY_BOOL, OFF(tcp), 0, 0,
	    true),
	KEY(CFG_BOOL("udp", cfg_true, CFGF_NONE), KEY_BOOL, OFF(udp), 0, 0,
	    true),
	KEY(CFG_INT("max_clients", 1024, CFGF_NONE), KEY_INT,
	    OFF(max_clients), 1, ECHOD_MAX_CLIENTS_LIMIT, false),
	KEY(CFG_INT("idle_timeout", 0, CFGF_NONE), KEY_INT,
	    OFF(idle_timeout), 0, INT_MAX, false),
	KEY(CFG_INT("send_timeout", ECHOD_DEFAULT_SEND_TIMEOUT, CFGF_NONE),
	    KEY_INT, OFF(send_timeout), 0, INT_MAX, false),
	KEY(CFG_INT("tcp_keepalive", ECHOD_DEFAULT_KEEPALIVE, CFGF_NONE),
	    KEY_INT, OFF(tcp_keepalive), 0, ECHOD_MAX_KEEPALIVE, false),
	KEY(CFG_INT("thread_cache_size", ECHOD_DEFAULT_THREAD_CACHE,
	    CFGF_NONE), KEY_INT, OFF(thread_cache_size), 0,
	    ECHOD_MAX_CLIENTS_LIMIT, false),
	KEY(CFG_INT("thread_cache_timeout", 1, CFGF_NONE), KEY_INT,
	    OFF(thread_cache_timeout), 1, 3600, false),
	KEY(CFG_STR("log_level", "info", CFGF_NONE), KEY_LEVEL,
	    OFF(log_level), 0, 0, false),
	KEY(CFG_BOOL("udp_loop_guard", cfg_true, CFGF_NONE), KEY_BOOL,
	    OFF(udp_loop_guard), 0, 0, false),
	/* Safe exposure: fairness, abuse limits, access control. */
	KEY(CFG_INT("source_prefix_v4", 32, CFGF_NONE), KEY_INT,
	    OFF(source_prefix_v4), 1, 32, false),
	KEY(CFG_INT("source_prefix_v6", 64, CFGF_NONE), KEY_INT,
	    OFF(source_prefix_v6), 1, 128, false),
	KEY(CFG_INT("max_clients_per_source", 0, CFGF_NONE), KEY_INT,
	    OFF(max_clients_per_source), 0, ECHOD_MAX_CLIENTS_LIMIT, false),
	KEY(CFG_BOOL("fair_share", cfg_true, CFGF_NONE), KEY_BOOL,
	    OFF(fair_share), 0, 0, false),
	KEY(CFG_INT("connect_rate_per_source", 0, CFGF_NONE), KEY_INT,
	    OFF(connect_rate_per_source), 0, ECHOD_MAX_RATE, false),
	KEY(CFG_INT("connect_burst", ECHOD_DEFAULT_CONNECT_BURST, CFGF_NONE),
	    KEY_INT, OFF(connect_burst), 1, ECHOD_MAX_RATE, false),
	KEY(CFG_INT("udp_rate_per_source", ECHOD_DEFAULT_UDP_RATE, CFGF_NONE),
	    KEY_INT, OFF(udp_rate_per_source), 0, ECHOD_MAX_RATE, false),
	KEY(CFG_INT("udp_rate_burst", ECHOD_DEFAULT_UDP_BURST, CFGF_NONE),
	    KEY_INT, OFF(udp_rate_burst), 1, ECHOD_MAX_RATE, false),
	KEY(CFG_INT("udp_prefix_v4", 24, CFGF_NONE), KEY_INT,
	    OFF(udp_prefix_v4), 1, 32, false),
	KEY(CFG_INT("udp_prefix_v6", 56, CFGF_NONE), KEY_INT,
	    OFF(udp_prefix_v6), 1, 128, false),
	KEY(CFG_INT("udp_rate_table_size", ECHOD_DEFAULT_RATE_TABLE,
	    CFGF_NONE), KEY_INT, OFF(udp_rate_table_size),
	    ECHOD_MIN_RATE_TABLE, ECHOD_MAX_RATE_TABLE, false),
	/*
	 * Empty by default: no default text, since libconfuse runs its lexer
	 * over a list's default ("{}" too) in every cfg_init().
	 */
	KEY(CFG_STR_LIST("allow", NULL, CFGF_NONE), KEY_CIDRS, OFF(allow),
	    0, ECHOD_MAX_ACL, false),
	KEY(CFG_STR_LIST("deny", NULL, CFGF_NONE), KEY_CIDRS, OFF(deny),
	    0, ECHOD_MAX_ACL, false),
	/* A fleet: siblings on one port, drain on stop, PROXY headers. */
	KEY(CFG_BOOL("reuseport", cfg_false, CFGF_NONE), KEY_BOOL,
	    OFF(reuseport), 0, 0, true),
	KEY(CFG_INT("shutdown_grace", 0, CFGF_NONE), KEY_INT,
	    OFF(shutdown_grace), 0, ECHOD_MAX_SHUTDOWN_GRACE, false),
	KEY(CFG_BOOL("proxy_protocol", cfg_false, CFGF_NONE), KEY_BOOL,
	    OFF(proxy_protocol), 0, 0, false),
	KEY(CFG_STR_LIST("proxy_from", NULL, CFGF_NONE), KEY_CIDRS,
	    OFF(proxy_from), 0, ECHOD_MAX_ACL, false),
	KEY(CFG_INT("proxy_timeout", ECHOD_DEFAULT_PROXY_TIMEOUT, CFGF_NONE),
	    KEY_INT, OFF(proxy_timeout), 1, ECHOD_MAX_PROXY_TIMEOUT, false),
	/* STAMP reflector (RFC 8762, RFC 8972). */
	KEY(CFG_BOOL("stamp", cfg_false, CFGF_NONE), KEY_BOOL, OFF(stamp), 0,
	    0, true),
	KEY(CFG_INT("stamp_port", ECHOD_DEFAULT_STAMP_PORT, CFGF_NONE),
	    KEY_INT, OFF(stamp_port), 1, 65535, true),
	KEY(CFG_STR("stamp_mode", "stateless", CFGF_NONE), KEY_STAMP_MODE,
	    OFF(stamp_stateful), 0, 0, false),
	KEY(CFG_STR("stamp_key_file", "", CFGF_NONE), KEY_KEY_FILE,
	    OFF(stamp_key_file), 0, 0, false),
	/* The metrics endpoint: off by default; who may read it. */
	KEY(CFG_STR("metrics_listen", "", CFGF_NONE), KEY_HOSTPORT,
	    OFF(metrics_listen), 0, 0, false),
	KEY(CFG_STR_LIST("metrics_allow", "{\"127.0.0.0/8\", \"::1/128\"}",
	    CFGF_NONE), KEY_CIDR_SET, OFF(metrics_allow), 0,
	    ECHOD_MAX_METRICS_ALLOW, false),
};

#define NKEYS	(sizeof(config_key_table) / sizeof(config_key_table[0]))

const struct config_key *const config_keys = config_key_table;
const size_t config_nkeys = NKEYS;

const struct config_key *
config_key_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(config_key_table[i].opt.name, name) == 0)
			return &config_key_table[i];
	return NULL;
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
	cfg_opt_t opts[NKEYS + 1], end = CFG_END();
	cfg_t	*cfg;
	size_t	 i;

	for (i = 0; i < NKEYS; i++) {
		opts[i] = config_key_table[i].opt;
		if (config_key_table[i].kind == KEY_INT)
			opts[i].parsecb = config_parse_int;
	}
	opts[NKEYS] = end;
	/* cfg_init() copies the options, so a stack array is enough. */
	if ((cfg = cfg_init(opts, CFGF_NONE)) == NULL)
		return NULL;
	cfg_set_error_function(cfg, config_error);
	for (i = 0; i < NKEYS; i++)
		if (config_validator(config_key_table[i].kind) != NULL)
			cfg_set_validate_func(cfg, config_key_table[i].opt.name,
			    config_validator(config_key_table[i].kind));
	return cfg;
}

/*
 * The line of the last "key" assignment in text (comments already blanked),
 * for a check that spans keys; 0 if the key is not in the text.
 */
static int
key_line(const char *text, size_t len, const char *key)
{
	size_t	 klen = strlen(key), i;
	int	 line = 1, found = 0;

	for (i = 0; i < len; i++) {
		if (text[i] == '\n') {
			line++;
			continue;
		}
		if ((i == 0 || strchr(" \t\n\r;,", text[i - 1]) != NULL) &&
		    len - i > klen && memcmp(text + i, key, klen) == 0 &&
		    strchr(" \t=", text[i + klen]) != NULL)
			found = line;
	}
	return found;
}

/* Checks that span keys, after parsing: the file, and a line where one fits. */
static int
config_check(const struct echod_config *c, const char *name,
    const char *text, size_t len)
{
	int	 line;

	if (!c->tcp && !c->udp && !c->stamp) {
		log_errx("%s: tcp, udp and stamp are all false: nothing to "
		    "serve", name);
		return -1;
	}
	if (c->stamp && c->udp && c->stamp_port == c->port) {
		log_errx("%s: stamp_port %d is the UDP echo port too; give "
		    "STAMP a port of its own", name, c->stamp_port);
		return -1;
	}
	if (c->proxy_protocol && c->proxy_from.n == 0) {
		line = key_line(text, len, "proxy_protocol");
		log_errx("%s:%d: proxy_protocol is true but proxy_from is "
		    "empty: list the load balancers' addresses", name,
		    line > 0 ? line : 1);
		return -1;
	}
	return 0;
}

void *
config_field(struct echod_config *c, const struct config_key *k)
{
	return (char *)c + k->offset;
}

const void *
config_cfield(const struct echod_config *c, const struct config_key *k)
{
	return (const char *)c + k->offset;
}

/* The validated strings of list key as parsed CIDRs; 0, or -1 (ENOMEM). */
static int
copy_cidrs(struct cidr_list *l, cfg_t *cfg, const char *key)
{
	char	 err[CIDR_ERRLEN];
	size_t	 i, n = cfg_size(cfg, key);

	l->n = 0;
	if (n == 0)
		return 0;
	if ((l->v = calloc(n, sizeof(*l->v))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (cidr_parse(cfg_getnstr(cfg, key, i), &l->v[i], err,
		    sizeof(err)) == -1) {
			errno = EINVAL;		/* the validator passed it */
			return -1;
		}
	l->n = n;
	return 0;
}

/* As copy_cidrs(), into a set the validator kept within its size. */
static int
copy_cidr_set(struct cidr_set *set, cfg_t *cfg, const char *key)
{
	char	 err[CIDR_ERRLEN];
	size_t	 i, n = cfg_size(cfg, key);

	set->n = 0;
	if (n > ECHOD_MAX_METRICS_ALLOW) {
		errno = E2BIG;
		return -1;
	}
	for (i = 0; i < n; i++)
		if (cidr_parse(cfg_getnstr(cfg, key, i), &set->v[i], err,
		    sizeof(err)) == -1)
			return -1;
	set->n = n;
	return 0;
}

void
config_free(struct echod_config *c)
{
	explicit_bzero(&c->stamp_key, sizeof(c->stamp_key));
	free(c->allow.v);
	free(c->deny.v);
	free(c->proxy_from.v);
	c->allow = c->deny = c->proxy_from =
	    (struct cidr_list){ .v = NULL, .n = 0 };
}

/* The key file the validator passed, read again into c (it may change). */
static int
copy_key(struct echod_config *c, const char *path, const char *name)
{
	char	 why[256];

	snprintf(c->stamp_key_file, sizeof(c->stamp_key_file), "%s", path);
	c->stamp_key.len = 0;
	if (path[0] == '\0')
		return 0;
	if (config_read_key(path, &c->stamp_key, why, sizeof(why)) == -1) {
		log_errx("%s: stamp_key_file '%s': %s", name, path, why);
		return -1;
	}
	return 0;
}

static int
config_copy(struct echod_config *c, cfg_t *cfg, const char *name)
{
	const struct config_key *k;
	const char *key;
	size_t	 j, n;

	memset(c, 0, sizeof(*c));
	for (k = config_key_table; k < config_key_table + NKEYS; k++) {
		key = k->opt.name;
		switch (k->kind) {
		case KEY_INT:
			*(int *)config_field(c, k) = (int)cfg_getint(cfg, key);
			break;
		case KEY_BOOL:
			*(bool *)config_field(c, k) = cfg_getbool(cfg, key);
			break;
		case KEY_LEVEL:
			*(int *)config_field(c, k) = log_level_parse(cfg_getstr(cfg,
			    key));
			break;
		case KEY_LISTEN:
			/* The validator capped it; an empty list is legal syntax. */
			if ((n = cfg_size(cfg, key)) == 0) {
				log_errx("%s: %s: the list is empty; give at "
				    "least one address", name, key);
				return -1;
			}
			c->nlisten = n;
			for (j = 0; j < n && j < ECHOD_MAX_LISTEN; j++)
				snprintf(c->listen[j], sizeof(c->listen[j]),
				    "%s", cfg_getnstr(cfg, key, j));
			break;
		case KEY_CIDRS:
			if (copy_cidrs(config_field(c, k), cfg, key) == -1) {
				log_err("%s: %s", name, key);
				config_free(c);
				return -1;
			}
			break;
		case KEY_STAMP_MODE:
			*(bool *)config_field(c, k) = strcmp(cfg_getstr(cfg, key),
			    "stateful") == 0;
			break;
		case KEY_KEY_FILE:
			if (copy_key(c, cfg_getstr(cfg, key), name) == -1) {
				config_free(c);
				return -1;
			}
			break;
		case KEY_CIDR_SET:
			if (copy_cidr_set(config_field(c, k), cfg, key) == -1) {
				log_errx("%s: %s: not a CIDR", name, key);
				config_free(c);
				return -1;
			}
			break;
		case KEY_HOSTPORT:
			/* The validator bounded its length. */
			snprintf(config_field(c, k), ECHOD_HOSTPORT_MAX, "%s",
			    cfg_getstr(cfg, key));
			break;
		}
	}
	return 0;
}

/* Parse text (len bytes, named name in messages) into c, or leave c be. */
static int
config_parse(struct echod_config *c, const char *name, char *text,
    size_t len)
{
	struct echod_config tmp;
	cfg_t	*cfg;
	FILE	*fp;
	int	 rc = -1, ret, saved;

	errno = EINVAL;
	if (config_reject_nul(text, len, name) == -1 ||
	    config_strip_comments(text, len, name) == -1)
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
		/* config_error() has said where and why. */
		errno = EINVAL;
		if (ret != CFG_SUCCESS)
			goto out;
	}
	errno = EINVAL;
	if (config_copy(&tmp, cfg, name) == -1)
		goto out;
	if (config_check(&tmp, name, text, len) == -1) {
		config_free(&tmp);
		goto out;
	}
	*c = tmp;
	rc = 0;
out:
	saved = errno;
	cfg_free(cfg);
	errno = saved;
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

	if ((text = config_read_file(path, &len)) == NULL)
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
