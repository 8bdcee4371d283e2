/* SPDX-License-Identifier: MIT */
#ifndef ECHOD_CONFIG_INT_H
#define ECHOD_CONFIG_INT_H

/*
 * Internal to the config module (config.c: the key table, the schema,
 * the copy and -T; config_validate.c; config_file.c).  Not for others.
 */

#include <stdbool.h>
#include <stddef.h>

#include <confuse.h>

#include "echod/config.h"

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

/* The key table: every key, in reading order. */
extern const struct config_key *const config_keys;
extern const size_t config_nkeys;
/* Where key k lives in c. */
void	*config_field(struct echod_config *c, const struct config_key *k);
const void *config_cfield(const struct echod_config *c,
	    const struct config_key *k);
/* The row of key name, or NULL. */
const struct config_key *config_key_find(const char *name);
/* libconfuse's parse callback for every integer key: decimal only. */
int	config_parse_int(cfg_t *cfg, cfg_opt_t *opt, const char *value,
	    void *result);
/* The validator of a key of kind, or NULL. */
cfg_validate_callback_t config_validator(enum key_kind kind);
/*
 * The file at path, whole and NUL-terminated (a regular file, at most
 * CONFIG_MAX_BYTES); NULL with errno, logged.
 */
char	*config_read_file(const char *path, size_t *len);
/* -1 (logged with name) if text holds a NUL byte. */
int	config_reject_nul(const char *text, size_t len, const char *name);
/*
 * Read the STAMP key at path (a private regular file) into k; -1 with the
 * reason in why.
 */
int	config_read_key(const char *path, struct stamp_key *k, char *why,
	    size_t size);
/* Blank comments in place, keeping newlines and strings; 0 or -1 (logged). */
int	config_strip_comments(char *p, size_t len, const char *name);

#endif /* ECHOD_CONFIG_INT_H */
