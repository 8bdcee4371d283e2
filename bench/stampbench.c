/* SPDX-License-Identifier: MIT */
/*
 * stampbench: a STAMP Session-Sender for bench/stamp.sh.  Unauthenticated
 * 44-octet test packets (RFC 8762 §4.2.1) to 127.0.0.1:port.
 *
 *   stampbench -p PORT -r RATE -d SECONDS
 *	paced at RATE packets/s; prints the reflector's residence time
 *	(T3 - T2 from each reply) and the round trip at p50, p99, p99.9
 *   stampbench -p PORT -w WINDOW -d SECONDS [-e]
 *	as fast as replies come back with WINDOW in flight (refilled after
 *	10 ms of silence); prints replies/s.  With -e the datagrams are 64
 *	octets of echo, to compare the echo path's rate in the same run.
 *
 * Output is one line of key=value pairs.
 */

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

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

#include "echod/wire.h"

#define MAXSAMPLES	(1 << 22)

static int	 fd;
static double	*resid, *rtt;
static atomic_size_t nsamples;
static atomic_bool done;
static atomic_ullong replies;

static uint64_t
ntp_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec + 2208988800ULL) << 32 |
	    (((uint64_t)ts.tv_nsec << 32) / 1000000000ULL);
}

static double
us(uint64_t a, uint64_t b)
{
	return (double)(int64_t)(a - b) * 1e6 / 4294967296.0;
}

static void
build(uint8_t *p, uint32_t seq)
{
	uint64_t t1 = ntp_now();
	int	 i;

	memset(p, 0, 44);
	p[0] = (uint8_t)(seq >> 24);
	p[1] = (uint8_t)(seq >> 16);
	p[2] = (uint8_t)(seq >> 8);
	p[3] = (uint8_t)seq;
	for (i = 0; i < 8; i++)
		p[4 + i] = (uint8_t)(t1 >> (56 - 8 * i));
	p[13] = 1;
}

/* Receive replies; record residence and round trip for STAMP ones. */
static void *
receiver(void *arg)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint8_t	 buf[2048];
	ssize_t	 n;
	size_t	 i;
	bool	 stamp = *(bool *)arg;

	while (!atomic_load(&done)) {
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
			uint64_t t4 = ntp_now();

			atomic_fetch_add(&replies, 1);
			if (!stamp || n < 44 || resid == NULL)
				continue;
			i = atomic_fetch_add(&nsamples, 1);
			if (i >= MAXSAMPLES)
				continue;
			resid[i] = us(wire_get64(buf + 4), wire_get64(buf + 16));
			rtt[i] = us(t4, wire_get64(buf + 28));
		}
	}
	return NULL;
}

static int
cmp(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
pct(const double *v, size_t n, double p)
{
	size_t	 i = (size_t)(p * (double)(n - 1) + 0.5);

	return n == 0 ? 0 : v[i];
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct timespec next;
	pthread_t th;
	uint8_t	 pkt[64];
	double	 dur = 5, rate = 0, t0, el;
	unsigned long long sent = 0, seen;
	int	 c, port = 0, window = 0, buf = 4 << 20;
	bool	 echo = false, stamp;
	size_t	 n;

	while ((c = getopt(argc, argv, "p:r:d:w:e")) != -1) {
		switch (c) {
		case 'p': port = (int)strtol(optarg, NULL, 10); break;
		case 'r': rate = strtod(optarg, NULL); break;
		case 'd': dur = strtod(optarg, NULL); break;
		case 'w': window = (int)strtol(optarg, NULL, 10); break;
		case 'e': echo = true; break;
		default:
			fprintf(stderr, "usage: stampbench -p port "
			    "(-r rate | -w window [-e]) [-d seconds]\n");
			return 64;
		}
	}
	if (port <= 0 || (rate <= 0 && window <= 0))
		return 64;
	stamp = !echo;
	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		return 71;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == -1)
		return 71;
	if (stamp && rate > 0 && ((resid = calloc(MAXSAMPLES,
	    sizeof(double))) == NULL || (rtt = calloc(MAXSAMPLES,
	    sizeof(double))) == NULL))
		return 71;
	if (pthread_create(&th, NULL, receiver, &stamp) != 0)
		return 71;
	memset(pkt, 'e', sizeof(pkt));
	t0 = now_s();
	while ((el = now_s() - t0) < dur) {
		if (rate > 0) {
			/*
			 * Paced: every packet due by now goes now (a sleep
			 * overshoots by tens of microseconds on a busy host,
			 * so at high rates a few leave back to back), then
			 * sleep to the next one's time.
			 */
			if ((double)sent >= el * rate) {
				next.tv_sec = 0;
				next.tv_nsec = (long)(((double)sent + 1) /
				    rate * 1e9 - el * 1e9);
				if (next.tv_nsec > 0)
					nanosleep(&next, NULL);
				continue;
			}
		} else {
			/* Windowed: wait while WINDOW are in flight. */
			seen = atomic_load(&replies);
			if (sent - seen >= (unsigned long long)window) {
				double	 w0 = now_s();

				while (atomic_load(&replies) == seen &&
				    now_s() - w0 < 0.01)
					;
				if (atomic_load(&replies) == seen)
					sent = seen;	/* lost: refill */
				continue;
			}
		}
		if (stamp)
			build(pkt, (uint32_t)sent);
		if (send(fd, pkt, stamp ? 44 : 64, 0) > 0)
			sent++;
	}
	usleep(200 * 1000);
	atomic_store(&done, true);
	pthread_join(th, NULL);
	el = now_s() - t0 - 0.2;
	if (rate > 0 && stamp) {
		n = atomic_load(&nsamples);
		if (n > MAXSAMPLES)
			n = MAXSAMPLES;
		qsort(resid, n, sizeof(double), cmp);
		qsort(rtt, n, sizeof(double), cmp);
		printf("rate=%.0f sent=%llu replies=%zu resid_p50=%.1f "
		    "resid_p99=%.1f resid_p999=%.1f rtt_p50=%.1f rtt_p99=%.1f "
		    "rtt_p999=%.1f\n", rate, sent, n, pct(resid, n, 0.5),
		    pct(resid, n, 0.99), pct(resid, n, 0.999), pct(rtt, n, 0.5),
		    pct(rtt, n, 0.99), pct(rtt, n, 0.999));
	} else
		printf("mode=%s window=%d replies_per_s=%.0f\n", stamp ?
		    "stamp" : "echo", window, (double)atomic_load(&replies) /
		    el);
	free(resid);
	free(rtt);
	return 0;
}
