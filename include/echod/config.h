#ifndef ECHOD_CONFIG_H
#define ECHOD_CONFIG_H

#include <netinet/in.h>
#include <arpa/inet.h>

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "echod/cidr.h"
#include "echod/stamp.h"

#define ECHOD_MAX_LISTEN	16	/* addresses in "listen" */
#define ECHOD_MAX_CLIENTS_LIMIT	1048576	/* threads are not free */
/*
 * TCP keepalive: 5 minutes of silence before the first probe.  Dead peers
 * (power off, a NAT that forgot the flow) are dropped after about 10
 * minutes, and one probe per idle client per 5 minutes costs nothing; a
 * NAT that times out faster than that needs a lower value.
 */
#define ECHOD_DEFAULT_KEEPALIVE	300
/*
 * A client that takes no byte of its echo for this long is closed, even with
 * idle_timeout = 0: it holds a thread and its unread echo for nothing.
 */
#define ECHOD_DEFAULT_SEND_TIMEOUT	60
#define ECHOD_MAX_KEEPALIVE	32767	/* TCP_KEEPIDLE's ceiling */
#define ECHOD_DEFAULT_THREAD_CACHE	64	/* ~8 KiB each while kept */
#define ECHOD_MAX_RATE		1000000000	/* events per second */
#define ECHOD_DEFAULT_CONNECT_BURST 20
/*
 * UDP answers per source prefix: 1,000 a second after a burst of 100,000.
 * The burst lets nc -u, a test client and a sweep of every size from 1 to
 * 65,507 bytes (65,507 datagrams as fast as loopback answers) through
 * untouched; a loop between two echo services runs at tens of thousands a
 * second, so it spends the burst in a few seconds and then dies (a dropped
 * datagram is never resent), and a flood from one /24 is cut to 1,000/s.
 */
#define ECHOD_DEFAULT_UDP_RATE	1000
#define ECHOD_DEFAULT_UDP_BURST	100000
/* Rate-limit table entries (about 40 bytes each): 65,536 = 2.6 MiB. */
#define ECHOD_DEFAULT_RATE_TABLE 65536
#define ECHOD_MIN_RATE_TABLE	8
#define ECHOD_MAX_RATE_TABLE	16777216
#define ECHOD_MAX_ACL		65536	/* entries in allow, in deny */
#define ECHOD_MAX_SHUTDOWN_GRACE 3600	/* seconds of drain on SIGTERM */
#define ECHOD_DEFAULT_PROXY_TIMEOUT 3	/* seconds for a whole PROXY header */
#define ECHOD_MAX_PROXY_TIMEOUT	60
#define ECHOD_DEFAULT_STAMP_PORT 862	/* RFC 8762 §3 */

struct cidr;
/* Entries in metrics_allow, kept in the config itself (no heap). */
#define ECHOD_MAX_METRICS_ALLOW	64
/* metrics_listen: "[ffff:...:ffff]:65535" and the NUL fit. */
#define ECHOD_HOSTPORT_MAX	64
/* The metrics port when metrics_listen gives an address alone. */
#define ECHOD_DEFAULT_METRICS_PORT 9107

/* A parsed allow or deny list, on the heap (config_free()). */
struct cidr_list {
	struct cidr	*v;
	size_t		 n;
};

/*
 * A short CIDR list inside the config, so a default that is not empty
 * costs no allocation (metrics_allow).
 */
struct cidr_set {
	struct cidr	 v[ECHOD_MAX_METRICS_ALLOW];
	size_t		 n;
};

/* The daemon's settings, after defaults, file and command line. */
struct echod_config {
	int	port;			/* 1..65535, TCP and UDP */
	int	backlog;		/* listen(2) backlog */
	bool	reuseaddr;		/* SO_REUSEADDR on TCP listeners */
	bool	freebind;		/* IP_FREEBIND: bind before the address is up */
	bool	tcp;			/* serve TCP */
	bool	udp;			/* serve UDP */
	int	max_clients;		/* concurrent TCP clients */
	int	idle_timeout;		/* seconds, 0 = never */
	int	send_timeout;		/* seconds an echo may go untaken */
	int	tcp_keepalive;		/* seconds of silence before probes, 0 = off */
	int	thread_cache_size;	/* finished client threads kept, 0 = none */
	int	thread_cache_timeout;	/* seconds a kept thread waits */
	int	log_level;		/* enum log_level */
	bool	udp_loop_guard;		/* drop datagrams that could be a loop */
	int	source_prefix_v4;	/* a TCP source: the client's /N */
	int	source_prefix_v6;
	int	max_clients_per_source;	/* 0 = no fixed cap */
	bool	fair_share;		/* when full, evict from the heaviest */
	int	connect_rate_per_source; /* connections/s, 0 = off */
	int	connect_burst;
	int	udp_rate_per_source;	/* answers/s per prefix, 0 = off */
	int	udp_rate_burst;
	int	udp_prefix_v4;		/* a UDP rate-limit source: /N */
	int	udp_prefix_v6;
	int	udp_rate_table_size;	/* entries, allocated at start */
	struct cidr_list allow;
	struct cidr_list deny;
	char	metrics_listen[ECHOD_HOSTPORT_MAX]; /* "" = no endpoint */
	struct cidr_set metrics_allow;	/* who may read it */
	bool	stamp;			/* a STAMP reflector on stamp_port */
	int	stamp_port;
	bool	stamp_stateful;		/* stamp_mode = "stateful" */
	char	stamp_key_file[PATH_MAX]; /* "": unauthenticated mode */
	struct stamp_key stamp_key;	/* read from stamp_key_file */
	size_t	nlisten;
	bool	reuseport;		/* SO_REUSEPORT: siblings share the port */
	int	shutdown_grace;		/* seconds SIGTERM drains clients, 0 = none */
	bool	proxy_protocol;		/* PROXY headers from proxy_from */
	struct cidr_list proxy_from;	/* the load balancers */
	int	proxy_timeout;		/* seconds for the whole header */
	char	listen[ECHOD_MAX_LISTEN][INET6_ADDRSTRLEN];
};

/*
 * A loaded config owns the allow, deny and proxy_from lists; release them with
 * config_free() (a copy by value moves the ownership).
 */
void	config_free(struct echod_config *c);
/* Fill c with the built-in defaults (the contract); 0, or -1 on ENOMEM. */
int	config_defaults(struct echod_config *c);
/*
 * Parse the file at path over the built-in defaults into c.  Errors are
 * logged with file:line; c is only written on success.  Returns 0 or -1,
 * errno EINVAL when the file is not a valid config, any other errno when it
 * could not be read (missing, not a regular file, out of descriptors).
 */
int	config_load(struct echod_config *c, const char *path);
/* As config_load, from a string (messages name "<string>"); for tests. */
int	config_load_buf(struct echod_config *c, const char *text);
/* True if a and b differ in a key that describes the sockets. */
bool	config_sockets_differ(const struct echod_config *a,
	    const struct echod_config *b);
/* Those keys' names, "port, backlog, ...", for messages. */
const char *config_socket_keys(void);
/* Write c as a config file that -c reads back to the same c (-T). */
int	config_print(const struct echod_config *c, FILE *fp);
/* Parse a port number as given on the command line; 0, or -1 if invalid. */
int	config_parse_port(const char *text, int *port);

#endif /* ECHOD_CONFIG_H */
