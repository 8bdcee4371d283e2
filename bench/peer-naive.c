/* SPDX-License-Identifier: MIT */
/*
 * The naive peer of the edge benchmarks: a detached thread per TCP client
 * with blocking recv/send and a 16 KiB buffer, and one UDP thread with
 * blocking recvfrom/sendto.  No limits, no options: the shape a textbook
 * thread-per-connection server has.  usage: peer-naive PORT
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static void *
client(void *arg)
{
	char	 buf[16384];
	int	 fd = *(int *)arg;
	ssize_t	 n, off, w;

	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
		for (off = 0; off < n; off += w)
			if ((w = send(fd, buf + off, (size_t)(n - off),
			    MSG_NOSIGNAL)) <= 0)
				goto out;
out:
	close(fd);
	free(arg);
	return NULL;
}

static void *
udp(void *arg)
{
	static char buf[65536];
	struct sockaddr_storage peer;
	socklen_t len;
	int	 fd = *(int *)arg;
	ssize_t	 n;

	for (;;) {
		len = sizeof(peer);
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer,
		    &len);
		if (n >= 0)
			(void)sendto(fd, buf, (size_t)n, 0,
			    (struct sockaddr *)&peer, len);
	}
	return NULL;
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct rlimit rl;
	pthread_attr_t attr;
	pthread_t t;
	static int ufd;
	int	 lfd, cfd, *p, one = 1;
	char	*end;
	long	 port;

	if (argc != 2 || (port = strtol(argv[1], &end, 10)) <= 0 ||
	    port > 65535 || *end != '\0')
		return 64;
	signal(SIGPIPE, SIG_IGN);
	/* As many descriptors as allowed, so the 30k hold can run. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max = 1 << 20;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1 &&
		    getrlimit(RLIMIT_NOFILE, &rl) == 0) {
			rl.rlim_cur = rl.rlim_max;
			(void)setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	ufd = socket(AF_INET, SOCK_DGRAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(lfd, 4096) == -1 ||
	    bind(ufd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		perror("peer-naive: bind");
		return 71;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, (size_t)64 * 1024);
	if (pthread_create(&t, &attr, udp, &ufd) != 0)
		return 71;
	for (;;) {
		if ((cfd = accept(lfd, NULL, NULL)) == -1) {
			/* EMFILE and friends: do not spin. */
			struct timespec ms = { 0, 1000000 };

			nanosleep(&ms, NULL);
			continue;
		}
		setsockopt(cfd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one,
		    sizeof(one));
		if ((p = malloc(sizeof(*p))) == NULL) {
			close(cfd);
			continue;
		}
		*p = cfd;
		if (pthread_create(&t, &attr, client, p) != 0) {
			close(cfd);
			free(p);
		}
	}
}
