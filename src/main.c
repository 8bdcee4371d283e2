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
	    "usage: echod [-hqtTvV] [-c file] [-p port]\n"
	    "  -c, --config FILE     config file (default %s if it exists)\n"
	    "  -p, --port PORT       TCP and UDP port, overrides 'port'\n"
	    "  -t, --check-config    validate the configuration and exit\n"
	    "  -T, --print-config    validate, print the effective configuration\n"
	    "                        (every key, -p applied) and exit\n"
	    "  -q, --quiet           with -t: no output, only the exit code\n"
	    "  -v, --verbose         log at debug level (per-client lines)\n"
	    "  -h, --help            show this help and exit\n"
	    "  -V, --version         show the version and exit\n",
	    ECHOD_DEFAULT_CONFIG);
}

/* The -t/-T verdict on a configuration that did not load; exit 78. */
static void __attribute__((noreturn))
config_failed(const char *path, int errnum)
{
	if (errnum == EINVAL)
		log_errx("configuration %s is invalid",
		    path != NULL ? path : "(built-in)");
	else
		log_errx("configuration %s could not be read",
		    path != NULL ? path : "(built-in)");
	exit(EX_CONFIG);
}

/* An option getopt refused: say which, as "echod: ...", then usage. */
static void __attribute__((noreturn))
bad_option(int ch, const char *arg)
{
	if (ch == ':')
		log_errx("option '%s' needs an argument", arg);
	else if (optopt != 0)
		log_errx("unknown option '-%c'", optopt);
	else
		log_errx("unknown option '%s'", arg);
	usage(stderr);
	exit(EX_USAGE);
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
	if ((*path != NULL ? config_load(cfg, *path) :
	    config_defaults(cfg)) == -1)
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
		{ "print-config",	no_argument,		NULL, 'T' },
		{ "quiet",		no_argument,		NULL, 'q' },
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
	bool	 check = false, print = false, quiet = false, verbose = false;
	int	 ch, port = 0;

	log_init(stderr, LOG_LEVEL_INFO);
	/* Our own messages, so they say "echod:" whatever argv[0] is. */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:p:qtTvhV", longopts,
	    NULL)) != -1) {
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
		case 'T':
			print = true;
			break;
		case 'q':
			quiet = true;
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
			bad_option(ch, argv[optind - 1]);
		}
	}
	if (optind < argc) {
		log_errx("unexpected argument '%s'", argv[optind]);
		usage(stderr);
		exit(EX_USAGE);
	}

	if (quiet && !check) {
		log_errx("-q goes with -t");
		usage(stderr);
		exit(EX_USAGE);
	}
	if (quiet)
		log_silence();
	if (load_config(&cfg, &path, port) == -1) {
		if (check || print)
			config_failed(path, errno);
		exit(EX_CONFIG);
	}
	if (print) {
		if (config_print(&cfg, stdout) == -1) {
			log_err("cannot print the configuration");
			exit(EX_OSERR);
		}
		exit(0);
	}
	if (check) {
		log_notice("configuration %s is valid",
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
