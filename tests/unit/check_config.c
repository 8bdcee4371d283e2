/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for config.c: the defaults are the contract, every key's
 * boundaries, unknown keys, syntax errors, and that every message carries
 * file:line.  Messages are captured by pointing the log at a temp file.
 */

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "echod/cidr.h"
#include "echod/config.h"
#include "echod/log.h"

#include "logcap.h"
#include "suite.h"

/* Parse text; expect failure and a message containing want. */
static void
assert_rejected(const char *text, const char *want)
{
	struct echod_config c;

	memset(&c, 0x5a, sizeof(c));
	ck_assert_msg(config_load_buf(&c, text) == -1,
	    "accepted: %s", text);
	logcap_has("%s", want);
	/* A failed load leaves the caller's config untouched. */
	ck_assert_int_eq(c.port, 0x5a5a5a5a);
}

static void
assert_accepted(const char *text, struct echod_config *c)
{
	ck_assert_msg(config_load_buf(c, text) == 0, "rejected '%s': %s",
	    text, logcap_text());
}

START_TEST(test_defaults_contract)
{
	struct echod_config c;

	ck_assert_int_eq(config_defaults(&c), 0);
	ck_assert_int_eq(c.port, 7);
	ck_assert_int_eq(c.backlog, 4096);
	ck_assert(c.reuseaddr);
	ck_assert(c.tcp);
	ck_assert(c.udp);
	ck_assert_int_eq(c.max_clients, 1024);
	ck_assert_int_eq(c.idle_timeout, 0);
	ck_assert_int_eq(c.log_level, LOG_LEVEL_INFO);
	ck_assert(c.udp_loop_guard);
	ck_assert_uint_eq(c.nlisten, 2);
	ck_assert_str_eq(c.listen[0], "0.0.0.0");
	ck_assert_str_eq(c.listen[1], "::");
	ck_assert_int_eq(c.tcp_keepalive, ECHOD_DEFAULT_KEEPALIVE);
	ck_assert(!c.freebind);
}
END_TEST

START_TEST(test_all_keys_set)
{
	struct echod_config c;

	assert_accepted("port = 7777\nbacklog = 16\nreuseaddr = false\n"
	    "listen = {\"127.0.0.1\", \"::1\", \"2001:db8::1\"}\ntcp = true\n"
	    "udp = false\nmax_clients = 3\nidle_timeout = 30\n"
	    "log_level = \"debug\"\nudp_loop_guard = no\n"
	    "tcp_keepalive = 0\nfreebind = true\n", &c);
	ck_assert_int_eq(c.tcp_keepalive, 0);
	ck_assert(c.freebind);
	ck_assert_int_eq(c.port, 7777);
	ck_assert_int_eq(c.backlog, 16);
	ck_assert(!c.reuseaddr);
	ck_assert(!c.udp);
	ck_assert_int_eq(c.max_clients, 3);
	ck_assert_int_eq(c.idle_timeout, 30);
	ck_assert_int_eq(c.log_level, LOG_LEVEL_DEBUG);
	ck_assert(!c.udp_loop_guard);
	ck_assert_uint_eq(c.nlisten, 3);
	ck_assert_str_eq(c.listen[2], "2001:db8::1");
}
END_TEST

/* Each key at both ends of its range and one step beyond. */
static const struct boundary {
	const char	*key;
	long		 min;
	long		 max;
} boundaries[] = {
	{ "port",		1,	65535 },
	{ "backlog",		1,	2147483647L },
	{ "max_clients",	1,	ECHOD_MAX_CLIENTS_LIMIT },
	{ "idle_timeout",	0,	2147483647L },
	{ "tcp_keepalive",	0,	ECHOD_MAX_KEEPALIVE },
	{ "shutdown_grace",	0,	3600 },
	{ "proxy_timeout",	1,	60 },
	{ "stamp_port",		1,	65535 },
};

START_TEST(test_int_boundaries)
{
	const struct boundary *b = &boundaries[_i];
	struct echod_config c;
	char	 text[128], want[128];

	snprintf(text, sizeof(text), "%s = %ld\n", b->key, b->min);
	assert_accepted(text, &c);
	snprintf(text, sizeof(text), "%s = %ld\n", b->key, b->max);
	assert_accepted(text, &c);

	snprintf(text, sizeof(text), "\n%s = %ld\n", b->key, b->min - 1);
	snprintf(want, sizeof(want), ":2: %s %ld out of range %ld..%ld",
	    b->key, b->min - 1, b->min, b->max);
	assert_rejected(text, want);
	snprintf(text, sizeof(text), "%s = %ld\n", b->key, b->max + 1);
	snprintf(want, sizeof(want), ":1: %s %ld out of range", b->key,
	    b->max + 1);
	assert_rejected(text, want);
}
END_TEST

/*
 * Every integer key (each line "key = N" of the defaults' -T output, so a
 * key added later is covered too) is decimal only: libconfuse alone would
 * read 010 as 8 and 0x10 as 16.
 */
static const struct not_decimal {
	const char	*value;
	const char	*why;
} not_decimal[] = {
	{ "010",	"has a leading zero: integers are decimal only (write 10)" },
	{ "0300",	"has a leading zero: integers are decimal only (write 300)" },
	{ "00",		"has a leading zero: integers are decimal only (write 0)" },
	{ "-012",	"has a leading zero: integers are decimal only (write -12)" },
	{ "0x10",	"is hexadecimal: integers are decimal only" },
	{ "0X1f",	"is hexadecimal: integers are decimal only" },
	{ "1.5",	"is not a decimal integer" },
	{ "1e3",	"is not a decimal integer" },
	{ "12abc",	"is not a decimal integer" },
	{ "\"\"",	"is not a decimal integer" },
	{ "\" 5\"",	"is not a decimal integer" },
};

START_TEST(test_int_keys_decimal_only)
{
	struct echod_config c;
	char	*dump = NULL, *line, *save = NULL, key[64], text[256];
	char	 want[256], value[32];
	size_t	 size = 0, i;
	unsigned nkeys = 0;
	FILE	*fp;
	long	 v;

	ck_assert_int_eq(config_defaults(&c), 0);
	ck_assert((fp = open_memstream(&dump, &size)) != NULL);
	ck_assert_int_eq(config_print(&c, fp), 0);
	ck_assert_int_eq(fclose(fp), 0);
	for (line = strtok_r(dump, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "%63s = %ld", key, &v) != 2 ||
		    strchr(line, '"') != NULL || strchr(line, '{') != NULL)
			continue;
		nkeys++;
		/* Its default, written in decimal, is taken. */
		snprintf(text, sizeof(text), "%s = %ld\n", key, v);
		assert_accepted(text, &c);
		for (i = 0; i < sizeof(not_decimal) / sizeof(not_decimal[0]);
		    i++) {
			snprintf(text, sizeof(text), "# %s\n%s = %s\n", key,
			    key, not_decimal[i].value);
			snprintf(value, sizeof(value), "%s",
			    not_decimal[i].value);
			/* The message shows the value without its quotes. */
			if (value[0] == '"') {
				memmove(value, value + 1, strlen(value));
				value[strlen(value) - 1] = '\0';
			}
			snprintf(want, sizeof(want), "(string):2: %s: '%s' %s",
			    key, value, not_decimal[i].why);
			assert_rejected(text, want);
		}
	}
	free(dump);
	/* port ... udp_rate_table_size: 17 today, more as keys are added. */
	ck_assert_msg(nkeys >= 17, "only %u integer keys in -T", nkeys);
}
END_TEST

/* A key file of len octets of key (and a newline) with mode; its path. */
static const char *
key_file(const char *key, mode_t mode)
{
	static char path[64];
	int	 fd;

	snprintf(path, sizeof(path), "/tmp/check_config_key.XXXXXX");
	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert_int_eq(write(fd, key, strlen(key)), (ssize_t)strlen(key));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

START_TEST(test_stamp_keys)
{
	struct echod_config c;
	char	 text[256];
	const char *path;

	ck_assert_int_eq(config_defaults(&c), 0);
	ck_assert(!c.stamp);
	ck_assert_int_eq(c.stamp_port, 862);
	ck_assert(!c.stamp_stateful);
	ck_assert_str_eq(c.stamp_key_file, "");
	ck_assert_uint_eq(c.stamp_key.len, 0);
	assert_accepted("stamp = true\nstamp_mode = \"stateful\"\n", &c);
	ck_assert(c.stamp && c.stamp_stateful);
	assert_rejected("\nstamp_mode = \"fast\"\n", ":2: stamp_mode: 'fast' "
	    "is not \"stateless\" or \"stateful\"");
	assert_rejected("port = 7777\nstamp = true\nstamp_port = 7777\n",
	    "stamp_port 7777 is the UDP echo port too");
	/* The same port is fine for TCP alone. */
	assert_accepted("port = 7777\nudp = false\nstamp = true\n"
	    "stamp_port = 7777\n", &c);
	assert_accepted("tcp = false\nudp = false\nstamp = true\n", &c);

	/* The key: 16 octets and a newline, mode 0600. */
	path = key_file("0123456789abcdef\n", 0600);
	snprintf(text, sizeof(text), "stamp_key_file = \"%s\"\n", path);
	assert_accepted(text, &c);
	ck_assert_str_eq(c.stamp_key_file, path);
	ck_assert_uint_eq(c.stamp_key.len, 16);
	ck_assert_mem_eq(c.stamp_key.bytes, "0123456789abcdef", 16);
	config_free(&c);
	unlink(path);
	/* Others may read it: refused, with the line and the mode. */
	path = key_file("0123456789abcdef", 0644);
	snprintf(text, sizeof(text), "\n\nstamp_key_file = \"%s\"\n", path);
	assert_rejected(text, ":3: stamp_key_file");
	logcap_has("group or other users may read it (mode 0644)");
	unlink(path);
	path = key_file("0123456789abcdef", 0640);
	snprintf(text, sizeof(text), "stamp_key_file = \"%s\"\n", path);
	assert_rejected(text, "(mode 0640)");
	unlink(path);
	/* Too short a key. */
	path = key_file("short\n", 0600);
	snprintf(text, sizeof(text), "stamp_key_file = \"%s\"\n", path);
	assert_rejected(text, "the key must be 16 to 1024 octets, not 5");
	unlink(path);
	/* 1024 octets and a newline is the longest key; one more is not. */
	{
		char	 big[1027];

		memset(big, 'k', 1024);
		big[1024] = '\n';
		big[1025] = '\0';
		path = key_file(big, 0600);
		snprintf(text, sizeof(text), "stamp_key_file = \"%s\"\n",
		    path);
		assert_accepted(text, &c);
		ck_assert_uint_eq(c.stamp_key.len, 1024);
		config_free(&c);
		unlink(path);
		big[1024] = 'k';
		path = key_file(big, 0600);
		snprintf(text, sizeof(text), "stamp_key_file = \"%s\"\n",
		    path);
		assert_rejected(text, "not more than 1024");
		unlink(path);
	}
	/* Missing, and not a regular file. */
	assert_rejected("stamp_key_file = \"/nonexistent/key\"\n",
	    ":1: stamp_key_file '/nonexistent/key': No such file");
	assert_rejected("stamp_key_file = \"/tmp\"\n", "not a regular file");
}
END_TEST

START_TEST(test_unknown_key)
{
	assert_rejected("port = 7\nprot = 8\n", ":2: no such option 'prot'");
}
END_TEST

START_TEST(test_syntax_error)
{
	assert_rejected("port = 7\nlisten = {\"::1\"\n", "(string):3: premature end of file");
	assert_rejected("port = = 7\n", ":1:");
}
END_TEST

/* libconfuse 3.3 miscounts lines after comments; config.c blanks them. */
START_TEST(test_comments_keep_lines)
{
	struct echod_config c;

	assert_rejected("# one\n# two\n\nport = 0\n", ":4: port 0");
	assert_rejected("port = 7 // x\n/* a\n b */\nport = 0\n",
	    ":4: port 0");
	assert_rejected("listen = {\"::1\" # x\n}\nbacklog = 0\n",
	    ":3: backlog 0");
	assert_rejected("port = 7 /* open\n\n", ":1: unterminated /* comment");
	/* A "#" inside a string is not a comment. */
	assert_rejected("listen = {\"1.2.3.4#\"}\n", "'1.2.3.4#' is not");
	assert_accepted("port = 8 # comment with \"quote\n", &c);
	ck_assert_int_eq(c.port, 8);
}
END_TEST

START_TEST(test_control_bytes_not_logged)
{
	assert_rejected("\033[2Jfoo = 1\n", "no such option '?[2Jfoo'");
}
END_TEST

START_TEST(test_bad_types)
{
	assert_rejected("port = \"seven\"\n",
	    ":1: port: 'seven' is not a decimal integer");
	assert_rejected("port = 1.5\n", ":1: port: '1.5' is not a decimal "
	    "integer");
	assert_rejected("tcp = perhaps\n", "invalid boolean value");
	assert_rejected("port = 99999999999999999999999\n", ":1:");
}
END_TEST

START_TEST(test_listen_not_literal)
{
	assert_rejected("listen = {\"127.0.0.1\", \"localhost\"}\n",
	    ":1: listen: 'localhost' is not an IPv4 or IPv6 address literal");
	assert_rejected("listen = {\"1.2.3.4:7\"}\n", "not an IPv4 or IPv6");
	assert_rejected("listen = {\"\"}\n", "not an IPv4 or IPv6");
	assert_rejected("listen = {\"::1%lo\"}\n", "not an IPv4 or IPv6");
}
END_TEST

/*
 * Addresses inet_pton() takes but the daemon can never bind: start-up
 * would exit 71, so -t and a reload refuse them with the line.
 */
START_TEST(test_listen_never_bindable)
{
	struct echod_config c;

	/* IPv6 sockets are IPV6_V6ONLY: a mapped address binds nothing. */
	assert_rejected("port = 7\nlisten = {\"::1\", \"::ffff:127.0.0.1\"}\n",
	    ":2: listen: '::ffff:127.0.0.1' can never be bound: an "
	    "IPv4-mapped IPv6 address, and IPv6 sockets are IPv6 only: "
	    "write \"127.0.0.1\"");
	assert_rejected("listen = {\"::FFFF:0.0.0.0\"}\n",
	    "write \"0.0.0.0\"");
	assert_rejected("listen = {\"::ffff:c000:201\"}\n",
	    "write \"192.0.2.1\"");
	/* No scope can be given ("%lo" is not a literal), and bind needs one. */
	assert_rejected("\nlisten = {\"fe80::1\"}\n", ":2: listen: 'fe80::1' "
	    "can never be bound: a link-local address needs an interface "
	    "(scope)");
	assert_rejected("listen = {\"febf:ffff::1\"}\n", "link-local");
	/* Their neighbours bind. */
	assert_accepted("listen = {\"::fffe:127.0.0.1\", \"fec0::1\", "
	    "\"::127.0.0.1\", \"2001:db8::1\"}\n", &c);
	ck_assert_uint_eq(c.nlisten, 4);
}
END_TEST

START_TEST(test_listen_limits)
{
	char	 text[2048];
	size_t	 len;
	int	 i;

	assert_rejected("listen = {}\n", "listen: the list is empty");
	assert_rejected("listen = {\"::1\", \"0::1\"}\n",
	    "listen: address '0::1' is given twice");
	len = (size_t)snprintf(text, sizeof(text), "listen = {");
	for (i = 0; i <= ECHOD_MAX_LISTEN; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "%s\"127.0.0.%d\"", i > 0 ? ", " : "", i + 1);
	snprintf(text + len, sizeof(text) - len, "}\n");
	/* Refused at the element too many, with its line. */
	assert_rejected(text, "(string):1: listen: more than 16 addresses");
}
END_TEST

START_TEST(test_log_level)
{
	struct echod_config c;

	assert_accepted("log_level = \"warning\"\n", &c);
	ck_assert_int_eq(c.log_level, LOG_LEVEL_WARNING);
	assert_rejected("log_level = \"loud\"\n",
	    ":1: log_level: 'loud' is not one of");
}
END_TEST

START_TEST(test_nothing_to_serve)
{
	struct echod_config c;

	assert_rejected("tcp = false\nudp = false\n",
	    "tcp, udp and stamp are all false");
	assert_accepted("tcp = false\n", &c);
	ck_assert(!c.tcp && c.udp);
}
END_TEST

START_TEST(test_file_line_and_name)
{
	char	 path[] = "/tmp/check_config_XXXXXX";
	struct echod_config c;
	char	 want[128];
	FILE	*fp;
	int	 fd;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	fp = fdopen(fd, "w");
	ck_assert_ptr_nonnull(fp);
	fputs("# comment\nport = 7\n\nmax_clients = 0\n", fp);
	fclose(fp);
	ck_assert_int_eq(config_load(&c, path), -1);
	snprintf(want, sizeof(want), "%s:4: max_clients 0 out of range",
	    path);
	logcap_has("%s", want);
	unlink(path);
}
END_TEST

START_TEST(test_missing_file)
{
	struct echod_config c;

	ck_assert_int_eq(config_load(&c, "/nonexistent/echod.conf"), -1);
	ck_assert_int_eq(errno, ENOENT);
	logcap_has("cannot read /nonexistent/echod.conf: No such file or "
	    "directory");
	ck_assert_int_eq(config_load(&c, "/tmp"), -1);
	ck_assert_int_ne(errno, EINVAL);
	logcap_has("cannot read /tmp: a directory, not a regular file");
	/* A device is refused unread: it could block or never end. */
	ck_assert_int_eq(config_load(&c, "/dev/zero"), -1);
	ck_assert_int_ne(errno, EINVAL);
	logcap_has("cannot read /dev/zero: a device, not a regular file");
	/* /dev/null reads as an empty file: the defaults. */
	ck_assert_int_eq(config_load(&c, "/dev/null"), 0);
	ck_assert_int_eq(c.port, 7);
}
END_TEST

/* A file of size bytes: newlines, then "port = 4242\n" at the very end. */
static void
write_sized(const char *path, size_t size)
{
	static const char last[] = "port = 4242\n";
	char	*text;
	FILE	*fp;

	text = malloc(size);
	ck_assert_ptr_nonnull(text);
	memset(text, '\n', size);
	memcpy(text + size - (sizeof(last) - 1), last, sizeof(last) - 1);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(text, 1, size, fp), size);
	ck_assert_int_eq(fclose(fp), 0);
	free(text);
}

/* The 1 MiB cap exactly: its last byte is read, one more is refused. */
START_TEST(test_size_cap)
{
	char	 path[] = "/tmp/check_config_XXXXXX";
	struct echod_config c;
	int	 fd;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(close(fd), 0);
	write_sized(path, 1048576);
	ck_assert_msg(config_load(&c, path) == 0, "%s", logcap_text());
	ck_assert_int_eq(c.port, 4242);
	config_free(&c);
	write_sized(path, 1048576 + 1);
	ck_assert_int_eq(config_load(&c, path), -1);
	ck_assert_int_eq(errno, EINVAL);
	logcap_has(": larger than 1048576 bytes");
	/* A small file is read whole too (its buffer is its size). */
	write_sized(path, 12);
	ck_assert_int_eq(config_load(&c, path), 0);
	ck_assert_int_eq(c.port, 4242);
	config_free(&c);
	ck_assert_int_eq(unlink(path), 0);
}
END_TEST

/*
 * A regular file whose size stat(2) does not know (procfs says 0): the
 * buffer grows, and everything is read.
 */
START_TEST(test_unsized_file)
{
	struct echod_config c;

	ck_assert_int_eq(config_load(&c, "/proc/self/status"), -1);
	ck_assert_int_eq(errno, EINVAL);
	/* Its first word whole ("Name:\t..."), not the 1 byte stat allowed. */
	logcap_has("/proc/self/status:1: no such option 'Name:'");
}
END_TEST

/* config_print() of c, as one string (static storage, one at a time). */
static const char *
printed(const struct echod_config *c)
{
	static char buf[2][4096];
	static int which;
	FILE	*fp;
	size_t	 n;
	char	*out = buf[which ^= 1];

	fp = tmpfile();
	ck_assert_ptr_nonnull(fp);
	ck_assert_int_eq(config_print(c, fp), 0);
	rewind(fp);
	n = fread(out, 1, sizeof(buf[0]) - 1, fp);
	out[n] = '\0';
	fclose(fp);
	return out;
}

START_TEST(test_shipped_file_is_defaults)
{
	struct echod_config shipped, builtin;
	const char *src = getenv("ECHOD_SOURCE_DIR");
	char	 path[4096];

	ck_assert_ptr_nonnull(src);
	snprintf(path, sizeof(path), "%s/conf/echod.conf", src);
	ck_assert_int_eq(config_load(&shipped, path), 0);
	ck_assert_int_eq(config_defaults(&builtin), 0);
	/* Every key, whatever keys are added later. */
	ck_assert_str_eq(printed(&shipped), printed(&builtin));
}
END_TEST

/* -T's output is a config file that loads back to the same settings. */
START_TEST(test_print_round_trip)
{
	struct echod_config a, b;
	const char *text;

	assert_accepted("port = 7777\nbacklog = 16\nreuseaddr = false\n"
	    "listen = {\"127.0.0.1\", \"::1\"}\nudp = false\n"
	    "max_clients = 3\nidle_timeout = 30\ntcp_keepalive = 9\n"
	    "log_level = \"debug\"\nudp_loop_guard = false\n"
	    "freebind = true\n", &a);
	text = printed(&a);
	ck_assert_msg(strstr(text, "port = 7777\n") != NULL &&
	    strstr(text, "listen = {\"127.0.0.1\", \"::1\"}\n") != NULL &&
	    strstr(text, "log_level = \"debug\"\n") != NULL &&
	    strstr(text, "freebind = true\n") != NULL, "printed: %s", text);
	assert_accepted(text, &b);
	ck_assert_str_eq(printed(&b), text);
	ck_assert_int_eq(config_defaults(&a), 0);
	assert_accepted(printed(&a), &b);
	ck_assert_str_eq(printed(&b), printed(&a));
}
END_TEST

/* The fleet keys: defaults, a full set, and the check that spans two. */
START_TEST(test_fleet_keys)
{
	struct echod_config c;

	ck_assert_int_eq(config_defaults(&c), 0);
	ck_assert(!c.reuseport);
	ck_assert_int_eq(c.shutdown_grace, 0);
	ck_assert(!c.proxy_protocol);
	ck_assert_uint_eq(c.proxy_from.n, 0);
	ck_assert_int_eq(c.proxy_timeout, 3);
	config_free(&c);

	assert_accepted("reuseport = true\nshutdown_grace = 30\n"
	    "proxy_protocol = true\nproxy_timeout = 10\n"
	    "proxy_from = {\"198.18.0.0/15\", \"2001:db8::1\"}\n", &c);
	ck_assert(c.reuseport);
	ck_assert_int_eq(c.shutdown_grace, 30);
	ck_assert(c.proxy_protocol);
	ck_assert_int_eq(c.proxy_timeout, 10);
	ck_assert_uint_eq(c.proxy_from.n, 2);
	ck_assert_int_eq(c.proxy_from.v[0].prefix, 15);
	ck_assert_int_eq(c.proxy_from.v[1].prefix, 128);
	config_free(&c);
	/* proxy_from alone is harmless: nothing is read until it is on. */
	assert_accepted("proxy_from = {\"192.0.2.1\"}\n", &c);
	config_free(&c);

	/* On without balancers: the line that turned it on. */
	assert_rejected("port = 7\n\nproxy_protocol = true\n",
	    "(string):3: proxy_protocol is true but proxy_from is empty");
	assert_rejected("proxy_protocol = true # on\nproxy_from = {}\n",
	    "(string):1: proxy_protocol is true but proxy_from is empty");
	assert_rejected("proxy_protocol = false\n# x\nproxy_protocol=true\n",
	    "(string):3: proxy_protocol is true");
	assert_rejected("\nproxy_from = {\"192.0.2.0/24\", \"300.1.1.1\"}\n",
	    "(string):2: proxy_from:");
	assert_rejected("proxy_from = {\"192.0.2.1/24\"}\n",
	    "(string):1: proxy_from:");
	assert_rejected("proxy_protocol = 3\n", "(string):1:");
	assert_rejected("reuseport = maybe\n", "(string):1:");
	assert_rejected("shutdown_grace = -1\n",
	    ":1: shutdown_grace -1 out of range 0..3600");
	assert_rejected("proxy_timeout = 0\n",
	    ":1: proxy_timeout 0 out of range 1..60");
	assert_rejected("shutdown_grace = 0x10\n", "(string):1:");
}
END_TEST

/* Each socket key alone makes the sets differ; the others never do. */
START_TEST(test_sockets_differ)
{
	static const char *const socket_keys[] = {
		"port = 8\n", "backlog = 5\n", "reuseaddr = false\n",
		"freebind = true\n", "listen = {\"::\"}\n",
		"tcp = false\n", "udp = false\n", "reuseport = true\n",
	};
	static const char *const other_keys[] = {
		"max_clients = 5\n", "idle_timeout = 5\n",
		"metrics_allow = {\"::1\"}\n",
		"tcp_keepalive = 5\n", "log_level = \"debug\"\n",
		"udp_loop_guard = false\n", "shutdown_grace = 5\n",
		"proxy_timeout = 9\n",
		"proxy_protocol = true\nproxy_from = {\"192.0.2.0/24\"}\n",
	};
	struct echod_config base, c;
	size_t	 i;

	ck_assert_int_eq(config_defaults(&base), 0);
	for (i = 0; i < sizeof(socket_keys) / sizeof(socket_keys[0]); i++) {
		assert_accepted(socket_keys[i], &c);
		ck_assert_msg(config_sockets_differ(&base, &c), "%s",
		    socket_keys[i]);
	}
	for (i = 0; i < sizeof(other_keys) / sizeof(other_keys[0]); i++) {
		assert_accepted(other_keys[i], &c);
		ck_assert_msg(!config_sockets_differ(&base, &c), "%s",
		    other_keys[i]);
		config_free(&c);
	}
	ck_assert_str_eq(config_socket_keys(),
	    "port, backlog, reuseaddr, freebind, listen, tcp, udp, "
	    "reuseport, stamp, stamp_port");
}
END_TEST

START_TEST(test_parse_port)
{
	int	 port = -1;

	ck_assert_int_eq(config_parse_port("1", &port), 0);
	ck_assert_int_eq(port, 1);
	ck_assert_int_eq(config_parse_port("65535", &port), 0);
	ck_assert_int_eq(port, 65535);
	ck_assert_int_eq(config_parse_port("0", &port), -1);
	ck_assert_int_eq(config_parse_port("65536", &port), -1);
	ck_assert_int_eq(config_parse_port("-7", &port), -1);
	ck_assert_int_eq(config_parse_port("+7", &port), -1);
	ck_assert_int_eq(config_parse_port(" 7", &port), -1);
	ck_assert_int_eq(config_parse_port("7x", &port), -1);
	ck_assert_int_eq(config_parse_port("", &port), -1);
	ck_assert_int_eq(config_parse_port("99999999999999999999", &port), -1);
	ck_assert_int_eq(port, 65535);
}
END_TEST

/* metrics_listen: "" or an address and port; metrics_allow: CIDRs. */
START_TEST(test_metrics_keys)
{
	struct echod_config c;

	ck_assert_int_eq(config_defaults(&c), 0);
	ck_assert_str_eq(c.metrics_listen, "");
	ck_assert_uint_eq(c.metrics_allow.n, 2);
	ck_assert_int_eq(c.metrics_allow.v[0].prefix, 8);
	ck_assert_int_eq(c.metrics_allow.v[1].prefix, 128);
	config_free(&c);
	assert_accepted("metrics_listen = \"\"\n", &c);
	config_free(&c);
	assert_accepted("metrics_allow = {}\n", &c);
	ck_assert_uint_eq(c.metrics_allow.n, 0);
	config_free(&c);
	assert_rejected("\nmetrics_allow = {\"10.0.0.0/33\"}\n",
	    "(string):2: metrics_allow: ");
	/* At most ECHOD_MAX_METRICS_ALLOW entries, in the config itself. */
	{
		char	 text[4096];
		size_t	 len, i;

		len = (size_t)snprintf(text, sizeof(text), "metrics_allow = {");
		for (i = 0; i <= ECHOD_MAX_METRICS_ALLOW; i++)
			len += (size_t)snprintf(text + len, sizeof(text) - len,
			    "%s\"10.0.%zu.0/24\"", i > 0 ? ", " : "", i);
		snprintf(text + len, sizeof(text) - len, "}\n");
		assert_rejected(text, "(string):1: metrics_allow: more than 64 "
		    "entries");
	}
#ifdef ECHOD_HAVE_METRICS
	assert_accepted("metrics_listen = \"127.0.0.1:9107\"\n"
	    "metrics_allow = {\"192.0.2.0/24\"}\n", &c);
	ck_assert_str_eq(c.metrics_listen, "127.0.0.1:9107");
	ck_assert_uint_eq(c.metrics_allow.n, 1);
	config_free(&c);
	assert_accepted("metrics_listen = \"[::1]:65535\"\n", &c);
	config_free(&c);
	assert_accepted("metrics_listen = \"0.0.0.0\"\n", &c);
	config_free(&c);
	assert_accepted("metrics_listen = \"[::]\"\n", &c);
	config_free(&c);
	static const char *const bad[] = { "::1", "::1:9107", "127.0.0.1:0",
	    "127.0.0.1:65536", "127.0.0.1:", "127.0.0.1:+80", "127.0.0.1:0x50",
	    "localhost:9107", "[127.0.0.1]:80", "[::1]9107", "[::1", ":9107",
	    "127.0.0.1:80:80", "[::1]:99999999999999999999" };
	char	 text[128];
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "\n\nmetrics_listen = \"%s\"\n",
		    bad[i]);
		assert_rejected(text, "(string):3: metrics_listen: ");
		logcap_has("is not an address and port such as");
	}
#else
	assert_rejected("metrics_listen = \"127.0.0.1:9107\"\n",
	    "(string):1: metrics_listen: this echod was built without the "
	    "metrics endpoint");
#endif
}
END_TEST

static Suite *
config_suite(void)
{
	Suite	*s = suite_create("config");
	TCase	*tc;

	tc = tcase_create("load");
	tcase_add_checked_fixture(tc, logcap_start, logcap_stop);
	tcase_add_test(tc, test_defaults_contract);
	tcase_add_test(tc, test_all_keys_set);
	tcase_add_loop_test(tc, test_int_boundaries, 0,
	    sizeof(boundaries) / sizeof(boundaries[0]));
	tcase_add_test(tc, test_int_keys_decimal_only);
	tcase_add_test(tc, test_unknown_key);
	tcase_add_test(tc, test_syntax_error);
	tcase_add_test(tc, test_comments_keep_lines);
	tcase_add_test(tc, test_control_bytes_not_logged);
	tcase_add_test(tc, test_bad_types);
	tcase_add_test(tc, test_listen_not_literal);
	tcase_add_test(tc, test_listen_never_bindable);
	tcase_add_test(tc, test_listen_limits);
	tcase_add_test(tc, test_log_level);
	tcase_add_test(tc, test_nothing_to_serve);
	tcase_add_test(tc, test_stamp_keys);
	tcase_add_test(tc, test_file_line_and_name);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_size_cap);
	tcase_add_test(tc, test_unsized_file);
	tcase_add_test(tc, test_shipped_file_is_defaults);
	tcase_add_test(tc, test_print_round_trip);
	tcase_add_test(tc, test_sockets_differ);
	tcase_add_test(tc, test_fleet_keys);
	tcase_add_test(tc, test_metrics_keys);
	suite_add_tcase(s, tc);

	tc = tcase_create("port");
	tcase_add_test(tc, test_parse_port);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return suite_run(config_suite());
}
