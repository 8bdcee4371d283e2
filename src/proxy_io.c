/* SPDX-License-Identifier: MIT */
/*
 * Reading a PROXY header from a connected socket: exactly its bytes, so the
 * client's first bytes after it stay in the socket for the echo loop.  A v2
 * header says its length after 16 bytes; a v1 line ends at its LF, found by
 * peeking (MSG_PEEK) and then consuming through it.  One deadline covers
 * the whole header, so a balancer (or anyone) sending a byte a second
 * cannot hold the thread longer than proxy_timeout.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>

#include "echod/proxy.h"

static long long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until fd is readable (or has an error or EOF) before deadline. */
static enum proxy_result
wait_readable(int fd, long long deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	long long left;
	int	 n;

	for (;;) {
		if ((left = deadline - mono_ms()) <= 0)
			return PROXY_TIMEOUT;
		n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return PROXY_DONE;
		if (n == -1 && errno != EINTR)
			return PROXY_IO_ERROR;
	}
}

/*
 * Consume the next bytes of a v1 line (have of them read so far): peek at
 * what is there up to the line limit and take it through the first LF, or
 * all of it if there is none yet (every byte before the LF is the line's).
 */
static ssize_t
read_v1(int fd, uint8_t *buf, size_t have)
{
	const uint8_t *lf;
	ssize_t	 n;

	n = recv(fd, buf + have, PROXY_V1_MAX - have, MSG_PEEK | MSG_DONTWAIT);
	if (n <= 0)
		return n;
	if ((lf = memchr(buf + have, '\n', (size_t)n)) != NULL)
		n = lf - (buf + have) + 1;
	return recv(fd, buf + have, (size_t)n, MSG_DONTWAIT);
}

enum proxy_result
proxy_read_header(int fd, int timeout_ms, uint8_t *buf,
    struct proxy_header *h)
{
	long long deadline = mono_ms() + timeout_ms;
	enum proxy_result r;
	size_t	 have = 0, want;
	ssize_t	 n;

	for (;;) {
		if ((r = proxy_parse(buf, have, h)) != PROXY_NEED_MORE)
			return r;
		if ((r = wait_readable(fd, deadline)) != PROXY_DONE)
			return r;
		/* proxy_parse() refuses a line at PROXY_V1_MAX: have < it. */
		if ((want = proxy_more(buf, have)) > 0)
			n = recv(fd, buf + have, want, MSG_DONTWAIT);
		else
			n = read_v1(fd, buf, have);
		if (n == 0)
			return PROXY_CLOSED;
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN ||
			    errno == EWOULDBLOCK)
				continue;
			return PROXY_IO_ERROR;
		}
		have += (size_t)n;
	}
}
