#ifndef ECHOD_CONFIG_H
#define ECHOD_CONFIG_H

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdbool.h>
#include <stddef.h>

#define ECHOD_MAX_LISTEN	16	/* addresses in "listen" */
#define ECHOD_MAX_CLIENTS_LIMIT	1048576	/* threads are not free */

/* The daemon's settings, after defaults, file and command line. */
struct echod_config {
	int	port;			/* 1..65535, TCP and UDP */
	int	backlog;		/* listen(2) backlog */
	bool	reuseaddr;		/* SO_REUSEADDR on TCP listeners */
	bool	tcp;			/* serve TCP */
	bool	udp;			/* serve UDP */
	int	max_clients;		/* concurrent TCP clients */
	int	idle_timeout;		/* seconds, 0 = never */
	int	log_level;		/* enum log_level */
	bool	udp_loop_guard;		/* drop datagrams from ports < 1024 */
	size_t	nlisten;
	char	listen[ECHOD_MAX_LISTEN][INET6_ADDRSTRLEN];
};

/* Fill c with the built-in defaults (the contract); 0, or -1 on ENOMEM. */
int	config_defaults(struct echod_config *c);
/*
 * Parse the file at path over the built-in defaults into c.  Errors are
 * logged with file:line; c is only written on success.  Returns 0 or -1.
 */
int	config_load(struct echod_config *c, const char *path);
/* As config_load, from a string (messages name "<string>"); for tests. */
int	config_load_buf(struct echod_config *c, const char *text);
/* Parse a port number as given on the command line; 0, or -1 if invalid. */
int	config_parse_port(const char *text, int *port);

#endif /* ECHOD_CONFIG_H */
