/* SPDX-License-Identifier: MIT */
/*
 * The fleet tests' client: many TCP connections at once (one thread each)
 * or UDP flows (each from a new socket, so a new source port), from a
 * chosen source address, every byte and datagram checked against what
 * was sent.  Prints one summary line and exits 0 when nothing failed.
 *
 *   fleet_client [-u] [-c] [-s src] [-n count] [-b bytes] [-d ms] addr port
 *
 * -u  UDP: count datagrams of bytes each (retried up to 5 times, 400 ms)
 * -c  a TCP connection the peer closes before any echo counts as
 *     "closed", not as a failure (a refused client)
 * -d  spread each connection's bytes over ms (a client that stays)
 */

#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "echod/monotime.h"
#include "echod/net.h"

#define IO_MS		10000
#define CHUNK		4096
#define MAXCONN		512

static struct sockaddr_storage dst, src;
static socklen_t dstlen, srclen;
static size_t	 nbytes = 4096;
static int	 spread_ms;
static atomic_uint ok, closed, failed;
static _Atomic unsigned long long echoed;

static void
fill(unsigned char *buf, size_t len, uint64_t seed)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		buf[i] = (unsigned char)seed;
	}
}

static int
open_socket(int type)
{
	struct timeval tv = { IO_MS / 1000, 0 };
	int	 fd = socket(dst.ss_family, type | SOCK_CLOEXEC, 0);

	if (fd == -1)
		return -1;
	if ((srclen > 0 && bind(fd, (struct sockaddr *)&src, srclen) == -1) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One TCP connection: send nbytes in chunks, read each chunk back. */
static void *
tcp_conn(void *arg)
{
	unsigned char *out = malloc(nbytes), in[CHUNK];
	size_t	 sent = 0, got = 0, n;
	unsigned id = *(const unsigned *)arg;
	ssize_t	 r;
	int	 fd, chunks = (int)((nbytes + CHUNK - 1) / CHUNK);
	const char *why = NULL;

	if (out == NULL || (fd = open_socket(SOCK_STREAM)) == -1) {
		why = "socket";
		goto out;
	}
	fill(out, nbytes, 0x9e3779b97f4a7c15ULL + id);
	if (connect(fd, (struct sockaddr *)&dst, dstlen) == -1) {
		why = strerror(errno);
		close(fd);
		goto out;
	}
	while (got < nbytes) {
		n = nbytes - sent < CHUNK ? nbytes - sent : CHUNK;
		if (send(fd, out + sent, n, MSG_NOSIGNAL) != (ssize_t)n) {
			why = got == 0 ? NULL : "send";
			break;
		}
		sent += n;
		while (got < sent) {
			r = recv(fd, in, sent - got, 0);
			if (r <= 0) {
				why = r == 0 ? "EOF" : strerror(errno);
				break;
			}
			if (memcmp(in, out + got, (size_t)r) != 0) {
				why = "echo differs";
				break;
			}
			got += (size_t)r;
		}
		if (got < sent)
			break;
		if (spread_ms > 0 && chunks > 1) {
			struct timespec ts = { 0, (long)spread_ms * 1000000L /
			    chunks };

			ts.tv_sec = ts.tv_nsec / 1000000000L;
			ts.tv_nsec %= 1000000000L;
			nanosleep(&ts, NULL);
		}
	}
	close(fd);
	atomic_fetch_add(&echoed, got);
	if (got == nbytes) {
		atomic_fetch_add(&ok, 1);
		goto done;
	}
	if (got == 0 && (why == NULL || strcmp(why, "EOF") == 0 ||
	    strstr(why, "reset") != NULL)) {
		atomic_fetch_add(&closed, 1);
		goto done;
	}
out:
	atomic_fetch_add(&failed, 1);
	fprintf(stderr, "fleet_client: tcp #%u: %s after %zu of %zu bytes\n",
	    id, why != NULL ? why : "closed", got, nbytes);
done:
	free(out);
	return NULL;
}

/* One datagram from a new socket (a new flow), until its echo comes. */
static void
udp_flow(unsigned id)
{
	unsigned char out[65536], in[65536];
	struct pollfd pfd;
	int	 fd, try;
	ssize_t	 r;

	fill(out, nbytes, 0x51ed2701ULL + id);
	if ((fd = open_socket(SOCK_DGRAM)) == -1 ||
	    connect(fd, (struct sockaddr *)&dst, dstlen) == -1) {
		atomic_fetch_add(&failed, 1);
		perror("fleet_client: udp");
		if (fd != -1)
			close(fd);
		return;
	}
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	for (try = 0; try < 5; try++) {
		if (send(fd, out, nbytes, 0) != (ssize_t)nbytes)
			break;
		if (poll(&pfd, 1, 400) <= 0)
			continue;
		r = recv(fd, in, sizeof(in), 0);
		if (r == (ssize_t)nbytes && memcmp(in, out, nbytes) == 0) {
			atomic_fetch_add(&ok, 1);
			atomic_fetch_add(&echoed, (unsigned long long)r);
			close(fd);
			return;
		}
	}
	atomic_fetch_add(&failed, 1);
	fprintf(stderr, "fleet_client: udp #%u: no echo after %d tries\n", id,
	    try);
	close(fd);
}

static void
usage(void)
{
	fprintf(stderr, "usage: fleet_client [-cu] [-b bytes] [-d ms] "
	    "[-n count] [-s src] addr port\n");
	exit(64);
}

int
main(int argc, char *argv[])
{
	static unsigned ids[MAXCONN];
	pthread_t th[MAXCONN];
	const char *srcname = NULL;
	bool	 udp = false, allow_closed = false;
	long long t0;
	int	 n = 1, ch, i;

	while ((ch = getopt(argc, argv, "b:cd:n:s:u")) != -1) {
		switch (ch) {
		case 'b':
			nbytes = strtoul(optarg, NULL, 10);
			break;
		case 'c':
			allow_closed = true;
			break;
		case 'd':
			spread_ms = atoi(optarg);
			break;
		case 'n':
			n = atoi(optarg);
			break;
		case 's':
			srcname = optarg;
			break;
		case 'u':
			udp = true;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2 || n < 1 || n > MAXCONN || nbytes == 0 ||
	    (udp && nbytes > 65507) ||
	    net_parse_addr(argv[optind], atoi(argv[optind + 1]), &dst,
	    &dstlen) == -1 || (srcname != NULL &&
	    net_parse_addr(srcname, 0, &src, &srclen) == -1))
		usage();
	t0 = monotime_ms();
	if (udp) {
		for (i = 0; i < n; i++)
			udp_flow((unsigned)i);
	} else {
		for (i = 0; i < n; i++) {
			ids[i] = (unsigned)i;
			if (pthread_create(&th[i], NULL, tcp_conn,
			    &ids[i]) != 0) {
				perror("fleet_client: pthread_create");
				return 1;
			}
		}
		for (i = 0; i < n; i++)
			pthread_join(th[i], NULL);
	}
	printf("%s from %s: ok=%u closed=%u failed=%u bytes=%llu ms=%lld\n",
	    udp ? "udp" : "tcp", srcname != NULL ? srcname : "any",
	    atomic_load(&ok), atomic_load(&closed), atomic_load(&failed),
	    atomic_load(&echoed), monotime_ms() - t0);
	return atomic_load(&failed) > 0 ||
	    (!allow_closed && atomic_load(&closed) > 0) ? 1 : 0;
}
