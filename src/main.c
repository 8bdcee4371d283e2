/* SPDX-License-Identifier: MIT */
/*
 * echod: a TCP and UDP echo daemon (RFC 862).  The command line, the order
 * in which the configuration is assembled (defaults < file < options), and
 * the exit codes; the only file that calls exit().
 */

#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>

#include "echod/config.h"
#include "echod/log.h"
#include "echod/server.h"
#include "echod/signals.h"

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: echod [-htvV] [-c file] [-p port]\n"
	    "  -c, --config FILE     config file (default %s if it exists)\n"
	    "  -p, --port PORT       TCP and UDP port, overrides 'port'\n"
	    "  -t, --check-config    validate the configuration and exit\n"
	    "  -v, --verbose         log at debug level (per-client lines)\n"
	    "  -h, --help            show this help and exit\n"
	    "  -V, --version         show the version and exit\n",
	    ECHOD_DEFAULT_CONFIG);
}

/*
 * Assemble the configuration: defaults, then the file (-c, or the default
 * path when it exists), then the port from -p.  0, or -1 (logged).
 */
static int
load_config(struct echod_config *cfg, const char **path, int port)
{
	struct stat st;

	if (*path == NULL) {
		if (stat(ECHOD_DEFAULT_CONFIG, &st) == 0)
			*path = ECHOD_DEFAULT_CONFIG;
		else if (errno != ENOENT) {
			log_err("%s", ECHOD_DEFAULT_CONFIG);
			return -1;
		}
	}
	if (*path != NULL ? config_load(cfg, *path) : config_defaults(cfg))
		return -1;
	if (port > 0)
		cfg->port = port;
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config",		required_argument,	NULL, 'c' },
		{ "port",		required_argument,	NULL, 'p' },
		{ "check-config",	no_argument,		NULL, 't' },
		{ "verbose",		no_argument,		NULL, 'v' },
		{ "help",		no_argument,		NULL, 'h' },
		{ "version",		no_argument,		NULL, 'V' },
		{ NULL,			0,			NULL, 0 }
	};
	/* Static: detached client threads may outlive main() at exit. */
	static struct server srv;
	struct echod_config cfg;
	struct server_options opts;
	const char *path = NULL;
	sigset_t waitmask;
	bool	 check = false, verbose = false;
	int	 ch, port = 0;

	log_init(stderr, LOG_LEVEL_INFO);
	while ((ch = getopt_long(argc, argv, "c:p:tvhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'p':
			if (config_parse_port(optarg, &port) == -1) {
				log_errx("-p %s: not a port number 1..65535",
				    optarg);
				usage(stderr);
				exit(EX_USAGE);
			}
			break;
		case 't':
			check = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("echod %s\n", ECHOD_VERSION);
			exit(0);
		default:
			usage(stderr);
			exit(EX_USAGE);
		}
	}
	if (optind < argc) {
		log_errx("unexpected argument '%s'", argv[optind]);
		usage(stderr);
		exit(EX_USAGE);
	}

	if (load_config(&cfg, &path, port) == -1) {
		if (check)
			fprintf(stderr, "echod: configuration %s is invalid\n",
			    path != NULL ? path : "(built-in)");
		exit(EX_CONFIG);
	}
	if (check) {
		printf("echod: configuration %s is valid\n",
		    path != NULL ? path : "(built-in defaults)");
		exit(0);
	}
	log_set_level(verbose ? LOG_LEVEL_DEBUG : cfg.log_level);

	/* Before any thread exists, so every thread inherits the mask. */
	if (signals_init(&waitmask) == -1) {
		log_err("cannot set up signal handling");
		exit(EX_OSERR);
	}
	opts = (struct server_options){
		.config_path = path,
		.port = port,
		.verbose = verbose,
	};
	if (server_open(&srv, &cfg, &opts) == -1)
		exit(EX_OSERR);
	if (server_run(&srv, &waitmask) == -1) {
		server_close(&srv);
		exit(EX_OSERR);
	}
	server_close(&srv);
	return 0;
}
