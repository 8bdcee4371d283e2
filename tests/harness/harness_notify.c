/* SPDX-License-Identifier: MIT */
/*
 * systemd's notification socket, as the daemon's tests stand in for it:
 * a datagram socket in the test's directory named by NOTIFY_SOCKET, and a
 * wait for the message that holds a given assignment.
 */

#include <sys/socket.h>
#include <sys/un.h>

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"

int
notify_listen(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int	 fd;

	harness_tmppath(sun.sun_path, sizeof(sun.sun_path), "notify.sock");
	unlink(sun.sun_path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", sun.sun_path, 1), 0);
	return fd;
}

int
notify_await(int fd, const char *want, char *msg, size_t size,
    int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	long long end = harness_now_ms() + timeout_ms;
	ssize_t	 n;

	while (harness_now_ms() < end) {
		if (poll(&pfd, 1, (int)(end - harness_now_ms())) <= 0)
			continue;
		if ((n = recv(fd, msg, size - 1, 0)) < 0)
			return -1;
		msg[n] = '\0';
		if (strstr(msg, want) != NULL)
			return 0;
	}
	return -1;
}
