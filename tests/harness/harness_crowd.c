/* SPDX-License-Identifier: MIT */
/*
 * The harness's crowd: many TCP clients at once, driven by one poll(2)
 * loop, each sending its data while it reads the echo and checks it byte
 * for byte as it arrives (echo_run() in harness.h).
 */

#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "harness_int.h"

/* At most this much per send(2), so no client starves the others. */
#define SEND_CHUNK	((size_t)256 * 1024)

static void __attribute__((format(printf, 2, 3)))
job_fail(struct echo_job *j, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(j->why, sizeof(j->why), fmt, ap);
	va_end(ap);
	j->failed = j->done = true;
}

static void
job_send(struct echo_job *j)
{
	size_t	 chunk = j->len - j->sent;
	ssize_t	 n;

	if (chunk > SEND_CHUNK)
		chunk = SEND_CHUNK;
	n = send(j->fd, j->data + j->sent, chunk, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n == -1) {
		if (errno != EAGAIN && errno != EINTR)
			job_fail(j, "send after %zu of %zu bytes: %s", j->sent,
			    j->len, strerror(errno));
		return;
	}
	j->sent += (size_t)n;
	if (j->sent == j->len && j->shut_wr && shutdown(j->fd, SHUT_WR) == -1)
		job_fail(j, "shutdown: %s", strerror(errno));
}

static void
job_recv(struct echo_job *j, unsigned char *buf, size_t size)
{
	ssize_t	 n;
	size_t	 at;

	n = recv(j->fd, buf, size, MSG_DONTWAIT);
	if (n == -1) {
		if (errno != EAGAIN && errno != EINTR)
			job_fail(j, "recv after %zu of %zu bytes: %s", j->rcvd,
			    j->len, strerror(errno));
		return;
	}
	if (n == 0) {
		if (j->shut_wr && j->rcvd == j->len)
			j->done = true;
		else
			job_fail(j, "EOF after %zu of %zu bytes", j->rcvd,
			    j->len);
		return;
	}
	if ((size_t)n > j->len - j->rcvd) {
		job_fail(j, "%zu bytes echoed, only %zu sent",
		    j->rcvd + (size_t)n, j->len);
		return;
	}
	if ((at = harness_first_diff(j->data + j->rcvd, buf, (size_t)n)) !=
	    (size_t)n) {
		job_fail(j, "byte %zu differs: sent 0x%02x, got 0x%02x",
		    j->rcvd + at, j->data[j->rcvd + at], buf[at]);
		return;
	}
	j->rcvd += (size_t)n;
	if (j->reset_at > 0 && j->rcvd >= j->reset_at) {
		tcp_reset(j->fd);
		j->fd = -1;
		j->done = true;
	} else if (j->rcvd == j->len && !j->shut_wr)
		j->done = true;
}

size_t
echo_run(struct echo_job *jobs, size_t n, int timeout_ms)
{
	static unsigned char buf[64 * 1024];
	long long deadline = harness_now_ms() + timeout_ms, left;
	struct pollfd *pfd;
	size_t	*idx, i, k, active, failed = 0;
	int	 rc;

	for (i = 0; i < n; i++) {
		jobs[i].sent = jobs[i].rcvd = 0;
		jobs[i].done = jobs[i].failed = false;
		jobs[i].why[0] = '\0';
	}
	if (n == 0)
		return 0;
	pfd = calloc(n, sizeof(*pfd));
	idx = calloc(n, sizeof(*idx));
	if (pfd == NULL || idx == NULL) {
		for (i = 0; i < n; i++)
			job_fail(&jobs[i], "out of memory");
		free(pfd);
		free(idx);
		return n;
	}
	for (i = 0; i < n; i++) {
		struct echo_job *j = &jobs[i];

		if (j->len == 0 && j->shut_wr &&
		    shutdown(j->fd, SHUT_WR) == -1)
			job_fail(j, "shutdown: %s", strerror(errno));
		else if (j->len == 0 && !j->shut_wr)
			j->done = true;
	}
	for (;;) {
		active = 0;
		for (i = 0; i < n; i++) {
			if (jobs[i].done)
				continue;
			pfd[active].fd = jobs[i].fd;
			pfd[active].events = POLLIN |
			    (jobs[i].sent < jobs[i].len ? POLLOUT : 0);
			idx[active++] = i;
		}
		if (active == 0)
			break;
		if ((left = deadline - harness_now_ms()) <= 0) {
			for (k = 0; k < active; k++) {
				struct echo_job *j = &jobs[idx[k]];

				job_fail(j, "timed out after %d ms: %zu of %zu "
				    "bytes sent, %zu echoed", timeout_ms,
				    j->sent, j->len, j->rcvd);
			}
			break;
		}
		rc = poll(pfd, active, (int)left);
		if (rc == -1 && errno != EINTR) {
			for (k = 0; k < active; k++)
				job_fail(&jobs[idx[k]], "poll: %s",
				    strerror(errno));
			break;
		}
		for (k = 0; rc > 0 && k < active; k++) {
			struct echo_job *j = &jobs[idx[k]];

			if (pfd[k].revents & POLLOUT)
				job_send(j);
			if (!j->done &&
			    (pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
				job_recv(j, buf, sizeof(buf));
		}
	}
	for (i = 0; i < n; i++)
		if (jobs[i].failed)
			failed++;
	free(pfd);
	free(idx);
	return failed;
}
