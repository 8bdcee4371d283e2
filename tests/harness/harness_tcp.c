/* SPDX-License-Identifier: MIT */
/*
 * The harness's TCP clients: non-blocking connects from a chosen source
 * with a deadline, sends that finish or fail in bounded time, a wait for
 * the daemon's close, resets and peers that vanish without a word
 * (TCP_REPAIR), and one echo checked byte for byte.
 */

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "harness_int.h"

/* Connect to the loopback of family from src (NULL: any). */
static int
connect_from(int family, const char *src, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = harness_loopback(family, port, &ss), elen;
	int	 fd, err = 0, rc;

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		harness_seterr("socket: %s", strerror(errno));
		return -1;
	}
	if (src != NULL && harness_bind_source(fd, src, 0) == -1) {
		close(fd);
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&ss, len) == -1) {
		if (errno != EINPROGRESS)
			err = errno;
		else {
			rc = harness_wait_fd(fd, POLLOUT,
			    harness_now_ms() + HARNESS_IO_MS);
			elen = sizeof(err);
			if (rc == 0)
				err = ETIMEDOUT;
			else if (rc == -1 || getsockopt(fd, SOL_SOCKET,
			    SO_ERROR, &err, &elen) == -1)
				err = errno;
		}
	}
	if (err != 0) {
		close(fd);
		errno = err;
		harness_seterr("connect to tcp %s:%d from %s: %s",
		    harness_family_name(family), port,
		    src != NULL ? src : "any", strerror(err));
		return -1;
	}
	return fd;
}

int
tcp_connect(int family, int port)
{
	return connect_from(family, NULL, port);
}

int
tcp_connect_src(const char *src, int port)
{
	return connect_from(AF_INET, src, port);
}

void
tcp_reset(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

bool
harness_can_repair(void)
{
	int	 fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1, rc;

	if (fd == -1)
		return false;
	rc = setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on));
	close(fd);
	return rc == 0;
}

int
tcp_vanish(int fd)
{
	int	 on = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on)) == -1) {
		harness_seterr("TCP_REPAIR: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return close(fd);
}

int
sock_send_all(int fd, const void *buf, size_t len, int timeout_ms)
{
	long long deadline = harness_now_ms() + timeout_ms;
	const char *p = buf;
	size_t	 left = len;
	ssize_t	 n;

	while (left > 0) {
		n = send(fd, p, left, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			p += n;
			left -= (size_t)n;
			continue;
		}
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			harness_seterr("send after %zu of %zu bytes: %s",
			    len - left, len, strerror(errno));
			return -1;
		}
		if (harness_wait_fd(fd, POLLOUT, deadline) == 0) {
			errno = ETIMEDOUT;
			harness_seterr("send stalled after %zu of %zu bytes "
			    "for %d ms", len - left, len, timeout_ms);
			return -1;
		}
	}
	return 0;
}

int
sock_wait_closed(int fd, int timeout_ms)
{
	long long deadline = harness_now_ms() + timeout_ms;
	char	 buf[512];
	ssize_t	 n;

	for (;;) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n == -1 && (errno == ECONNRESET ||
		    errno == EPIPE)))
			return 0;
		if (n > 0) {
			harness_seterr("expected the connection closed, got "
			    "%zd bytes of data (\"%.*s\")", n,
			    (int)(n > 16 ? 16 : n), buf);
			return -1;
		}
		if (errno != EAGAIN && errno != EINTR) {
			harness_seterr("recv: %s", strerror(errno));
			return -1;
		}
		if (harness_wait_fd(fd, POLLIN, deadline) == 0) {
			errno = ETIMEDOUT;
			harness_seterr("connection still open after %d ms",
			    timeout_ms);
			return -1;
		}
	}
}

int
tcp_echo(int fd, const void *buf, size_t len)
{
	struct echo_job job = { .fd = fd, .data = buf, .len = len };

	if (echo_run(&job, 1, HARNESS_IO_MS) != 0) {
		harness_seterr("tcp echo of %zu bytes: %s", len, job.why);
		return -1;
	}
	return 0;
}
