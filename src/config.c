/* SPDX-License-Identifier: MIT */
/*
 * Configuration: the libconfuse schema (whose defaults are the contract), the
 * validators that run while libconfuse still knows the line, the checks that
 * span keys, and the copy into struct echod_config.  The only file that
 * includes <confuse.h>.
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

#define CONFIG_BUF_NAME	"(string)"
#define CONFIG_MAX_BYTES	1048576	/* 1 MiB: no config is larger */

/* How a key's value is stored in struct echod_config. */
enum key_kind {
	KEY_INT,		/* int, within [min, max] */
	KEY_BOOL,		/* bool */
	KEY_LEVEL,		/* int log level, named in the file */
	KEY_LISTEN,		/* the listen[] address list */
	KEY_CIDRS,		/* a struct cidr_list of allow/deny */
	KEY_STAMP_MODE,		/* bool stamp_stateful, named in the file */
	KEY_KEY_FILE,		/* a path whose secret goes in stamp_key */
	KEY_HOSTPORT,		/* "addr:port" or "", in a char array */
	KEY_CIDR_SET,		/* a struct cidr_set, at most max entries */
};

/*
 * Every key: its libconfuse option (whose default is the contract), where
 * it lives, its range, and whether it describes the sockets (a change
 * rebinds; systemd's sockets ignore it).  This table is the one list of
 * keys: the schema, the validators, the copy, -T and reload read it.
 */
/* Field order follows the rows' positional initializers below. */
/* NOLINTNEXTLINE(clang-analyzer-optin.performance.Padding) */
struct config_key {
	cfg_opt_t	 opt;
	size_t		 offset;
	long		 min;
	long		 max;
	enum key_kind	 kind;
	bool		 socket;
};

#define OFF(member)	offsetof(struct echod_config, member)
/* One row, in reading order; the struct is ordered for its size. */
#define KEY(opt, kind, offset, min, max, socket)			\
	{ opt, offset, min, max, kind, socket }

static const struct config_key keys[] = {
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

#define NKEYS	(sizeof(keys) / sizeof(keys[0]))

static const struct config_key *
key_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].opt.name, name) == 0)
			return &keys[i];
	return NULL;
}

/*
 * Every integer key is decimal: libconfuse reads integers with strtol()
 * base 0, so "idle_timeout = 0300" would be 192 and "0x10" 16, which no
 * one writing them means.  A leading zero is refused rather than read as
 * decimal, so a file never means one thing here and another to C.  Runs
 * as the value is parsed, so the message has the line.
 */
static int
parse_int(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	const struct config_key *k = key_find(opt->name);
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
	const struct config_key *k = key_find(opt->name);
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
	const struct config_key *k = key_find(opt->name);
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

/*
 * Read the STAMP key: the file's octets, one trailing newline dropped,
 * STAMP_KEY_MIN to STAMP_KEY_MAX of them.  A regular file that neither
 * group nor others may read or write: a key other users can read is no
 * secret.  On failure *why says so; -1.
 */
static int
read_key(const char *path, struct stamp_key *k, char *why, size_t size)
{
	uint8_t	 buf[STAMP_KEY_MAX + 2];
	struct stat st;
	ssize_t	 n;
	size_t	 len = 0;
	int	 fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC |
	    O_NOCTTY)) == -1) {
		snprintf(why, size, "%s", log_errstr(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(why, size, "%s", log_errstr(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, size, "not a regular file");
		goto out;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(why, size, "group or other users may read it (mode "
		    "%04o); chmod 600 it, or pass it with systemd's "
		    "LoadCredential=", (unsigned)(st.st_mode & 07777));
		goto out;
	}
	/* One octet more than a key and its newline tells a file too long. */
	while (len < sizeof(buf)) {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(why, size, "%s", log_errstr(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len < STAMP_KEY_MIN || len > STAMP_KEY_MAX) {
		snprintf(why, size, "the key must be %d to %d octets, not %s%zu",
		    STAMP_KEY_MIN, STAMP_KEY_MAX, len > STAMP_KEY_MAX ?
		    "more than " : "", len > STAMP_KEY_MAX ?
		    (size_t)STAMP_KEY_MAX : len);
		goto out;
	}
	memcpy(k->bytes, buf, len);
	k->len = len;
	rc = 0;
out:
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return rc;
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
	if (read_key(path, k, why, sizeof(why)) == -1) {
		cfg_error(cfg, "%s '%s': %s", opt->name, path, why);
		rc = -1;
	}
	explicit_bzero(k, sizeof(*k));
	free(k);
	return rc;
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
	cfg_opt_t opts[NKEYS + 1], end = CFG_END();
	cfg_t	*cfg;
	size_t	 i;

	for (i = 0; i < NKEYS; i++) {
		opts[i] = keys[i].opt;
		if (keys[i].kind == KEY_INT)
			opts[i].parsecb = parse_int;
	}
	opts[NKEYS] = end;
	/* cfg_init() copies the options, so a stack array is enough. */
	if ((cfg = cfg_init(opts, CFGF_NONE)) == NULL)
		return NULL;
	cfg_set_error_function(cfg, config_error);
	for (i = 0; i < NKEYS; i++)
		if (validators[keys[i].kind] != NULL)
			cfg_set_validate_func(cfg, keys[i].opt.name,
			    validators[keys[i].kind]);
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

static void *
field(struct echod_config *c, const struct config_key *k)
{
	return (char *)c + k->offset;
}

static const void *
cfield(const struct echod_config *c, const struct config_key *k)
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
	if (read_key(path, &c->stamp_key, why, sizeof(why)) == -1) {
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
	for (k = keys; k < keys + NKEYS; k++) {
		key = k->opt.name;
		switch (k->kind) {
		case KEY_INT:
			*(int *)field(c, k) = (int)cfg_getint(cfg, key);
			break;
		case KEY_BOOL:
			*(bool *)field(c, k) = cfg_getbool(cfg, key);
			break;
		case KEY_LEVEL:
			*(int *)field(c, k) = log_level_parse(cfg_getstr(cfg,
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
			if (copy_cidrs(field(c, k), cfg, key) == -1) {
				log_err("%s: %s", name, key);
				config_free(c);
				return -1;
			}
			break;
		case KEY_STAMP_MODE:
			*(bool *)field(c, k) = strcmp(cfg_getstr(cfg, key),
			    "stateful") == 0;
			break;
		case KEY_KEY_FILE:
			if (copy_key(c, cfg_getstr(cfg, key), name) == -1) {
				config_free(c);
				return -1;
			}
			break;
		case KEY_CIDR_SET:
			if (copy_cidr_set(field(c, k), cfg, key) == -1) {
				log_errx("%s: %s: not a CIDR", name, key);
				config_free(c);
				return -1;
			}
			break;
		case KEY_HOSTPORT:
			/* The validator bounded its length. */
			snprintf(field(c, k), ECHOD_HOSTPORT_MAX, "%s",
			    cfg_getstr(cfg, key));
			break;
		}
	}
	return 0;
}

bool
config_sockets_differ(const struct echod_config *a,
    const struct echod_config *b)
{
	const struct config_key *k;
	size_t	 i;

	for (k = keys; k < keys + NKEYS; k++) {
		if (!k->socket)
			continue;
		switch (k->kind) {
		case KEY_INT:
		case KEY_LEVEL:
			if (*(const int *)cfield(a, k) !=
			    *(const int *)cfield(b, k))
				return true;
			break;
		case KEY_BOOL:
			if (*(const bool *)cfield(a, k) !=
			    *(const bool *)cfield(b, k))
				return true;
			break;
		case KEY_CIDRS:
		case KEY_STAMP_MODE:
		case KEY_KEY_FILE:
		case KEY_CIDR_SET:
		case KEY_HOSTPORT:
			break;		/* never a socket key */
		case KEY_LISTEN:
			if (a->nlisten != b->nlisten)
				return true;
			for (i = 0; i < a->nlisten; i++)
				if (strcmp(a->listen[i], b->listen[i]) != 0)
					return true;
			break;
		}
	}
	return false;
}

const char *
config_socket_keys(void)
{
	static char names[256];
	size_t	 len = 0, i;
	int	 n;

	/* Built once, from the main thread, before any reload. */
	if (names[0] != '\0')
		return names;
	for (i = 0; i < NKEYS; i++) {
		if (!keys[i].socket)
			continue;
		n = snprintf(names + len, sizeof(names) - len, "%s%s",
		    len > 0 ? ", " : "", keys[i].opt.name);
		if (n > 0 && (size_t)n < sizeof(names) - len)
			len += (size_t)n;
	}
	return names;
}

static void
print_cidrs(FILE *fp, const char *key, const struct cidr *v, size_t n)
{
	char	 buf[IPADDR_STRLEN];
	size_t	 i;

	fprintf(fp, "%s = {", key);
	for (i = 0; i < n; i++)
		fprintf(fp, "%s\"%s\"", i > 0 ? ", " : "", ipaddr_format(
		    &v[i].addr, v[i].prefix, buf, sizeof(buf)));
	fprintf(fp, "}\n");
}

/* A quoted string as libconfuse reads it back: '"' and '\\' escaped. */
static void
print_string(FILE *fp, const char *key, const char *v)
{
	fprintf(fp, "%s = \"", key);
	for (; *v != '\0'; v++) {
		if (*v == '"' || *v == '\\')
			fputc('\\', fp);
		fputc(*v, fp);
	}
	fprintf(fp, "\"\n");
}

int
config_print(const struct echod_config *c, FILE *fp)
{
	const struct config_key *k;
	const struct cidr_list *l;
	const struct cidr_set *set;
	size_t	 i;

	for (k = keys; k < keys + NKEYS; k++) {
		switch (k->kind) {
		case KEY_INT:
			fprintf(fp, "%s = %d\n", k->opt.name,
			    *(const int *)cfield(c, k));
			break;
		case KEY_BOOL:
			fprintf(fp, "%s = %s\n", k->opt.name,
			    *(const bool *)cfield(c, k) ? "true" : "false");
			break;
		case KEY_LEVEL:
			fprintf(fp, "%s = \"%s\"\n", k->opt.name,
			    log_level_name(*(const int *)cfield(c, k)));
			break;
		case KEY_LISTEN:
			fprintf(fp, "%s = {", k->opt.name);
			for (i = 0; i < c->nlisten; i++)
				fprintf(fp, "%s\"%s\"", i > 0 ? ", " : "",
				    c->listen[i]);
			fprintf(fp, "}\n");
			break;
		case KEY_CIDRS:
			l = cfield(c, k);
			print_cidrs(fp, k->opt.name, l->v, l->n);
			break;
		case KEY_CIDR_SET:
			set = cfield(c, k);
			print_cidrs(fp, k->opt.name, set->v, set->n);
			break;
		case KEY_HOSTPORT:
			fprintf(fp, "%s = \"%s\"\n", k->opt.name,
			    (const char *)cfield(c, k));
			break;
		case KEY_STAMP_MODE:
			fprintf(fp, "%s = \"%s\"\n", k->opt.name,
			    *(const bool *)cfield(c, k) ? "stateful" :
			    "stateless");
			break;
		case KEY_KEY_FILE:
			print_string(fp, k->opt.name, cfield(c, k));
			break;
		}
	}
	return fflush(fp) == 0 && !ferror(fp) ? 0 : -1;
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

static const char *
file_type(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a fifo";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "a device";
	return "not a regular file";
}

/*
 * Make room for more of a file being read: twice the room, up to one byte
 * more than a config may have (which tells a file that is too large).
 */
static int
grow(char **buf, size_t *room)
{
	size_t	 want = *room * 2 < CONFIG_MAX_BYTES + 1 ? *room * 2 :
	    CONFIG_MAX_BYTES + 1;
	char	*p;

	if ((p = realloc(*buf, want + 1)) == NULL)
		return -1;
	*buf = p;
	*room = want;
	return 0;
}

/*
 * Read all of path (at most CONFIG_MAX_BYTES) into a new NUL-ended buffer.
 * Only a regular file: a fifo or a device could block the main loop for
 * ever, so it is opened O_NONBLOCK and refused after fstat(2), unread.
 * The buffer is the file's size and one byte (EOF is seen without a
 * second buffer), grown only if the file grows while it is read: a load
 * costs what the file holds, not the 1 MiB cap.  On failure errno is
 * EINVAL when the bytes are not a config file (too large), else the
 * reason the file could not be read; logged either way.
 */
static char *
read_file(const char *path, size_t *len)
{
	struct stat st;
	char	*buf = NULL;
	size_t	 n = 0, room;
	ssize_t	 r;
	int	 fd, saved;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC |
	    O_NOCTTY)) == -1) {
		log_err("cannot read %s", path);
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		log_err("cannot read %s", path);
		goto out;
	}
	/* /dev/null is the usual way to say "the built-in defaults". */
	if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3))
		st.st_size = 0;
	else if (!S_ISREG(st.st_mode)) {
		log_errx("cannot read %s: %s, not a regular file", path,
		    file_type(st.st_mode));
		errno = EPERM;
		goto out;
	}
	room = st.st_size < CONFIG_MAX_BYTES ? (size_t)st.st_size + 1 :
	    CONFIG_MAX_BYTES + 1;
	if ((buf = malloc(room + 1)) == NULL) {
		log_err("cannot read %s", path);
		goto out;
	}
	/* One byte more than allowed tells a file that is too large. */
	while (S_ISREG(st.st_mode) && n <= CONFIG_MAX_BYTES) {
		if (n == room && grow(&buf, &room) == -1) {
			log_err("cannot read %s", path);
			goto fail;
		}
		r = read(fd, buf + n, room - n);
		if (r == 0)
			break;
		if (r == -1) {
			if (errno == EINTR)
				continue;
			log_err("cannot read %s", path);
			goto fail;
		}
		n += (size_t)r;
	}
	if (n > CONFIG_MAX_BYTES) {
		log_errx("%s: larger than %d bytes; not a config file?", path,
		    CONFIG_MAX_BYTES);
		errno = EINVAL;
		goto fail;
	}
	buf[n] = '\0';
	*len = n;
	goto out;
fail:
	free(buf);
	buf = NULL;
out:
	saved = errno;
	close(fd);
	errno = saved;
	return buf;
}

/* A NUL byte would end libconfuse's string early: refuse the file. */
static int
reject_nul(const char *text, size_t len, const char *name)
{
	const char *nul = memchr(text, '\0', len), *p;
	int	 line = 1;

	if (nul == NULL)
		return 0;
	for (p = text; p < nul; p++)
		if (*p == '\n')
			line++;
	log_errx("%s:%d: NUL byte: not a text file", name, line);
	return -1;
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
	if (reject_nul(text, len, name) == -1 ||
	    strip_comments(text, len, name) == -1)
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
