/* SPDX-License-Identifier: MIT */
/*
 * edgebench: the edge scenarios of bench/edge.sh, one epoll thread, every
 * echoed byte checked.
 *   flood: UDP, -n datagrams of -s bytes in flight for -d s; rate, p50/p99;
 *          with -g the client sends each refill as one UDP_SEGMENT message
 *          and takes UDP_GRO buffers (the kernel's batching, as QUIC
 *          stacks use it), so that it costs the client far less
 *          than a datagram each, and the server is the bottleneck
 *   burst: -n TCP clients connecting, -k in flight; total time, connects
 *          slower than 0.9 s (a SYN retransmit); then one echo each
 *   hold:  burst, then each client echoes 16 B once a second for -d s;
 *          "held" on stderr once all are connected and echoed once
 * Clients bind 127.0.0.1..4 so 30,000 of them fit in the ephemeral range.
 * Output: one line "mode=... key=value ... status=ok|FAIL".
 */
#define _GNU_SOURCE
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAXEV	1024
#define TSIZE	16

static int	 port, n = 64, k = 64, size = 64;
static double	 secs = 5;
static int	 gso;		/* -g: UDP_SEGMENT out, UDP_GRO in */

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
fill(unsigned char *p, size_t len, uint64_t seq)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)(seq * 131 + i * 7 + (seq >> 8));
	if (len >= 8)
		memcpy(p, &seq, 8);
}

static int
cmp_d(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
raise_nofile(rlim_t want)
{
	struct rlimit rl = { want, want };

	if (setrlimit(RLIMIT_NOFILE, &rl) == -1 &&
	    getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static struct sockaddr_in
server(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };

	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sin;
}

/* Send cnt new datagrams (seq on) in one sendmmsg; their send times. */
static void
flood_send(int fd, unsigned char (*out)[65536], double *sent, uint64_t *seq,
    int cnt)
{
	struct mmsghdr mm[256];
	struct iovec iov[256];
	double	 t = now();
	int	 i, off = 0, r;

	for (i = 0; i < cnt; i++) {
		fill(out[i], (size_t)size, *seq);
		sent[*seq & 0xffff] = t;
		(*seq)++;
		iov[i] = (struct iovec){ out[i], (size_t)size };
		mm[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i],
		    .msg_iovlen = 1 } };
	}
	if (gso) {
		/* Runs of equal datagrams as one message each, cut by the kernel. */
		union {
			char	 buf[CMSG_SPACE(sizeof(uint16_t))];
			struct cmsghdr align;
		} c[256];
		int	 per = 65507 / size < 64 ? 65507 / size : 64, m = 0;
		uint16_t seg = (uint16_t)size;

		for (i = 0; i < cnt; i += per, m++) {
			struct cmsghdr *h = (struct cmsghdr *)(void *)c[m].buf;

			mm[m] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i],
			    .msg_iovlen = (size_t)(cnt - i < per ? cnt - i : per),
			    .msg_control = c[m].buf,
			    .msg_controllen = sizeof(c[m].buf) } };
			h->cmsg_level = IPPROTO_UDP;
			h->cmsg_type = UDP_SEGMENT;
			h->cmsg_len = CMSG_LEN(sizeof(seg));
			memcpy(CMSG_DATA(h), &seg, sizeof(seg));
		}
		cnt = m;
	}
	while (off < cnt && (r = sendmmsg(fd, mm + off,
	    (unsigned)(cnt - off), 0)) > 0)
		off += r;
}

/* The UDP_GRO segment size of a received buffer, 0 if it holds one. */
static unsigned
gro_size(struct msghdr *m)
{
	struct cmsghdr *c;
	int	 v;

	for (c = CMSG_FIRSTHDR(m); c != NULL; c = CMSG_NXTHDR(m, c))
		if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(v))) {
			memcpy(&v, CMSG_DATA(c), sizeof(v));
			return v > 0 ? (unsigned)v : 0;
		}
	return 0;
}

/*
 * The client batches too (recvmmsg/sendmmsg), so that it costs less than
 * the server it measures and the server is the bottleneck.
 */
static int
flood(void)
{
	struct sockaddr_in sin = server();
	static unsigned char out[256][65536], in[256][65536];
	struct mmsghdr mm[256];
	struct iovec iov[256];
	unsigned char want[65536];
	struct timespec tmo = { 0, 100000000 };
	double	*sent, *lat, t0, t;
	uint64_t seq = 0, ok = 0, bad = 0, lost = 0, nlat = 0, cap = 1 << 22;
	uint64_t s;
	int	 fd, i, r, got;
	static union {
		char	 buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cin[256];

	if (n > 256)
		n = 256;
	sent = calloc(65536, sizeof(*sent));
	lat = malloc(cap * sizeof(*lat));
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (sent == NULL || lat == NULL || fd == -1 ||
	    connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		perror("edgebench: flood");
		free(sent);
		free(lat);
		return 2;
	}
	{
		struct timeval tv = { 0, 100000 };	/* a lost window */
		int	 one = 1;

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (gso && setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one,
		    sizeof(one)) == -1) {
			perror("edgebench: UDP_GRO");
			free(sent);
			free(lat);
			close(fd);
			return 2;
		}
	}
	t0 = now();
	flood_send(fd, out, sent, &seq, n);
	while (now() < t0 + secs) {
		for (i = 0; i < n; i++) {
			iov[i] = (struct iovec){ in[i], sizeof(in[i]) };
			mm[i] = (struct mmsghdr){ .msg_hdr = {
			    .msg_iov = &iov[i], .msg_iovlen = 1,
			    .msg_control = gso ? cin[i].buf : NULL,
			    .msg_controllen = gso ? sizeof(cin[i].buf) : 0 } };
		}
		r = recvmmsg(fd, mm, (unsigned)n, MSG_WAITFORONE, &tmo);
		if (r <= 0) {
			/* Nothing for 100 ms: the window was lost; refill. */
			lost += (uint64_t)n;
			flood_send(fd, out, sent, &seq, n);
			continue;
		}
		t = now();
		got = 0;
		for (i = 0; i < r; i++) {
			unsigned off, seg = gro_size(&mm[i].msg_hdr);

			if (seg == 0)
				seg = mm[i].msg_len;
			if (seg == 0) {	/* an empty datagram: not ours */
				got++, bad++;
				continue;
			}
			for (off = 0; off < mm[i].msg_len; off += seg) {
				unsigned char *d = in[i] + off;

				got++;
				memcpy(&s, d, 8);
				fill(want, (size_t)size, s);
				if (seg != (unsigned)size ||
				    mm[i].msg_len - off < seg || s >= seq ||
				    memcmp(d, want, (size_t)size) != 0) {
					bad++;
					break;
				}
				ok++;
				if (nlat < cap)
					lat[nlat++] = t - sent[s & 0xffff];
			}
		}
		flood_send(fd, out, sent, &seq, got < n ? got : n);
	}
	qsort(lat, nlat, sizeof(*lat), cmp_d);
	printf("mode=flood inflight=%d size=%d secs=%g ops=%llu rate=%.0f "
	    "p50_us=%.1f p99_us=%.1f lost=%llu bad=%llu status=%s\n", n, size,
	    secs, (unsigned long long)ok, (double)ok / secs,
	    nlat ? lat[nlat / 2] * 1e6 : 0,
	    nlat ? lat[nlat * 99 / 100] * 1e6 : 0, (unsigned long long)lost,
	    (unsigned long long)bad, bad == 0 && ok > 0 ? "ok" : "FAIL");
	free(sent);
	free(lat);
	return bad == 0 && ok > 0 ? 0 : 1;
}

struct cl {
	int	 fd;
	int	 state;		/* 0 connecting, 1 connected, 2 echoing */
	int	 got;
	double	 t0;
	unsigned round;
};

static struct cl *cls;

/* Connect every client, k at a time; the slow ones and the total time. */
static int
connect_all(int ep, double *total, int *slow, double *p99)
{
	struct sockaddr_in sin = server(), src = { .sin_family = AF_INET };
	struct epoll_event ev, evs[MAXEV];
	double	*ct, t0 = now();
	int	 started = 0, done = 0, inflight = 0, i, m, one = 1, err;
	socklen_t len;

	if ((ct = calloc((size_t)n, sizeof(*ct))) == NULL)
		return -1;
	*slow = 0;
	while (done < n) {
		while (inflight < k && started < n) {
			struct cl *c = &cls[started];

			c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
			if (c->fd == -1) {
				perror("edgebench: socket");
				free(ct);
				return -1;
			}
			setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT,
			    &one, sizeof(one));
			src.sin_addr.s_addr = htonl(0x7f000001 + started % 4);
			if (bind(c->fd, (struct sockaddr *)&src,
			    sizeof(src)) == -1) {
				perror("edgebench: bind");
				free(ct);
				return -1;
			}
			c->t0 = now();
			if (connect(c->fd, (struct sockaddr *)&sin,
			    sizeof(sin)) == -1 && errno != EINPROGRESS) {
				perror("edgebench: connect");
				free(ct);
				return -1;
			}
			ev.events = EPOLLOUT;
			ev.data.u32 = (uint32_t)started;
			epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
			started++;
			inflight++;
		}
		m = epoll_wait(ep, evs, MAXEV, 5000);
		if (m <= 0) {
			fprintf(stderr, "edgebench: connects stalled\n");
			free(ct);
			return -1;
		}
		for (i = 0; i < m; i++) {
			struct cl *c = &cls[evs[i].data.u32];

			len = sizeof(err);
			getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
			if (err != 0) {
				fprintf(stderr, "edgebench: connect: %s\n",
				    strerror(err));
				free(ct);
				return -1;
			}
			ct[done] = now() - c->t0;
			if (ct[done] > 0.9)
				(*slow)++;
			c->state = 1;
			ev.events = EPOLLIN;
			ev.data.u32 = evs[i].data.u32;
			epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
			done++;
			inflight--;
		}
	}
	*total = now() - t0;
	qsort(ct, (size_t)n, sizeof(*ct), cmp_d);
	*p99 = ct[(size_t)n * 99 / 100];
	free(ct);
	return 0;
}

/* One 16-byte echo from every client, checked; returns the failures. */
static int
echo_round(int ep, unsigned round, double spread)
{
	struct epoll_event evs[MAXEV];
	unsigned char msg[TSIZE], in[TSIZE];
	double	 t0 = now();
	int	 sentc = 0, done = 0, bad = 0, i, m;
	ssize_t	 r;

	while (done < n) {
		/* Spread the sends over spread seconds. */
		double	 due = spread > 0 ? (now() - t0) / spread * n : n;

		while (sentc < n && sentc <= due) {
			fill(msg, TSIZE, (uint64_t)sentc * 1000003u + round);
			if (send(cls[sentc].fd, msg, TSIZE, MSG_NOSIGNAL) !=
			    TSIZE)
				bad++, done++;
			cls[sentc].got = 0;
			cls[sentc].round = round;
			sentc++;
		}
		m = epoll_wait(ep, evs, MAXEV, sentc < n ? 5 : 5000);
		if (m == 0 && sentc == n) {
			fprintf(stderr, "edgebench: echo round %u stalled "
			    "(%d of %d)\n", round, done, n);
			return bad + n - done;
		}
		for (i = 0; i < m; i++) {
			struct cl *c = &cls[evs[i].data.u32];

			r = recv(c->fd, in + c->got, (size_t)(TSIZE - c->got), 0);
			if (r <= 0) {
				bad++, done++;
				continue;
			}
			c->got += (int)r;
			if (c->got < TSIZE)
				continue;
			fill(msg, TSIZE, (uint64_t)evs[i].data.u32 * 1000003u +
			    round);
			if (memcmp(in, msg, TSIZE) != 0)
				bad++;
			done++;
		}
	}
	return bad;
}

static int
tcp_mode(const char *mode)
{
	double	 total, p99, t0;
	int	 ep, slow, bad = 0, rounds = 0, i;

	raise_nofile((rlim_t)n + 64);
	cls = calloc((size_t)n, sizeof(*cls));
	ep = epoll_create1(0);
	if (cls == NULL || ep == -1 || connect_all(ep, &total, &slow, &p99))
		return 2;
	bad += echo_round(ep, 0, 0);
	if (strcmp(mode, "hold") == 0) {
		fprintf(stderr, "held %d\n", n);
		t0 = now();
		for (rounds = 1; now() < t0 + secs; rounds++)
			bad += echo_round(ep, (unsigned)rounds, 1.0);
	}
	printf("mode=%s clients=%d inflight=%d connect_s=%.3f "
	    "connect_p99_ms=%.1f slow_connects=%d rounds=%d bad=%d "
	    "status=%s\n", mode, n, k, total, p99 * 1e3, slow, rounds, bad,
	    bad == 0 ? "ok" : "FAIL");
	fflush(stdout);
	for (i = 0; i < n; i++)
		close(cls[i].fd);
	return bad == 0 ? 0 : 1;
}

/* A decimal option, or -1 (refused below) when it is not one. */
static int
num(const char *s)
{
	char	*end;
	long	 v = strtol(s, &end, 10);

	return *s == '\0' || *end != '\0' || v < 0 || v > 1000000 ? -1 : (int)v;
}

int
main(int argc, char *argv[])
{
	const char *mode = argc > 1 ? argv[1] : "";
	int	 c;

	optind = 2;
	while ((c = getopt(argc, argv, "gp:n:k:s:d:")) != -1)
		switch (c) {
		case 'g': gso = 1; break;
		case 'p': port = num(optarg); break;
		case 'n': n = num(optarg); break;
		case 'k': k = num(optarg); break;
		case 's': size = num(optarg); break;
		case 'd': secs = strtod(optarg, NULL); break;
		default: return 64;
		}
	if (port <= 0 || port > 65535 || n <= 0 || k <= 0 || size < 8 ||
	    size > 65507 || secs <= 0) {
		fprintf(stderr, "usage: edgebench flood|burst|hold -p port "
		    "[-n count] [-k inflight] [-s size] [-d secs] [-g]\n");
		return 64;
	}
	if (strcmp(mode, "flood") == 0)
		return flood();
	if (strcmp(mode, "burst") == 0 || strcmp(mode, "hold") == 0)
		return tcp_mode(mode);
	fprintf(stderr, "edgebench: unknown mode '%s'\n", mode);
	return 64;
}
