/* SPDX-License-Identifier: MIT */
/*
 * What the key table says of a configuration as a whole: which keys
 * describe the sockets (a change rebinds), and -T, every key with its
 * effective value in the file's own syntax.
 */

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "echod/cidr.h"
#include "echod/config.h"
#include "echod/log.h"
#include "echod/net.h"

#include "config_int.h"

bool
config_sockets_differ(const struct echod_config *a,
    const struct echod_config *b)
{
	const struct config_key *k;
	size_t	 i;

	for (k = config_keys; k < config_keys + config_nkeys; k++) {
		if (!k->socket)
			continue;
		switch (k->kind) {
		case KEY_INT:
		case KEY_LEVEL:
			if (*(const int *)config_cfield(a, k) !=
			    *(const int *)config_cfield(b, k))
				return true;
			break;
		case KEY_BOOL:
			if (*(const bool *)config_cfield(a, k) !=
			    *(const bool *)config_cfield(b, k))
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
	for (i = 0; i < config_nkeys; i++) {
		if (!config_keys[i].socket)
			continue;
		n = snprintf(names + len, sizeof(names) - len, "%s%s",
		    len > 0 ? ", " : "", config_keys[i].opt.name);
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

	for (k = config_keys; k < config_keys + config_nkeys; k++) {
		switch (k->kind) {
		case KEY_INT:
			fprintf(fp, "%s = %d\n", k->opt.name,
			    *(const int *)config_cfield(c, k));
			break;
		case KEY_BOOL:
			fprintf(fp, "%s = %s\n", k->opt.name,
			    *(const bool *)config_cfield(c, k) ? "true" : "false");
			break;
		case KEY_LEVEL:
			fprintf(fp, "%s = \"%s\"\n", k->opt.name,
			    log_level_name(*(const int *)config_cfield(c, k)));
			break;
		case KEY_LISTEN:
			fprintf(fp, "%s = {", k->opt.name);
			for (i = 0; i < c->nlisten; i++)
				fprintf(fp, "%s\"%s\"", i > 0 ? ", " : "",
				    c->listen[i]);
			fprintf(fp, "}\n");
			break;
		case KEY_CIDRS:
			l = config_cfield(c, k);
			print_cidrs(fp, k->opt.name, l->v, l->n);
			break;
		case KEY_CIDR_SET:
			set = config_cfield(c, k);
			print_cidrs(fp, k->opt.name, set->v, set->n);
			break;
		case KEY_HOSTPORT:
			fprintf(fp, "%s = \"%s\"\n", k->opt.name,
			    (const char *)config_cfield(c, k));
			break;
		case KEY_STAMP_MODE:
			fprintf(fp, "%s = \"%s\"\n", k->opt.name,
			    *(const bool *)config_cfield(c, k) ? "stateful" :
			    "stateless");
			break;
		case KEY_KEY_FILE:
			print_string(fp, k->opt.name, config_cfield(c, k));
			break;
		}
	}
	return fflush(fp) == 0 && !ferror(fp) ? 0 : -1;
}

