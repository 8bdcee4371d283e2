/* SPDX-License-Identifier: MIT */
/*
 * systemd's notification socket, as the tests stand in for it: a
 * datagram socket at a path named by NOTIFY_SOCKET, and a wait for the
 * message that holds a given assignment.  Needs nothing else of the
 * harness, so unit suites link it alone.
 */

#include <sys/socket.h>
#include <sys/un.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "echod/monotime.h"

#include "harness.h"

int
notify_listen(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int	 fd;

	ck_assert_int_lt(snprintf(sun.sun_path, sizeof(sun.sun_path), "%s",
	    path), (int)sizeof(sun.sun_path));
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
	long long end = monotime_ms() + timeout_ms;
	ssize_t	 n;

	while (monotime_ms() < end) {
		if (poll(&pfd, 1, (int)(end - monotime_ms())) <= 0)
			continue;
		if ((n = recv(fd, msg, size - 1, 0)) < 0)
			return -1;
		msg[n] = '\0';
		if (strstr(msg, want) != NULL)
			return 0;
	}
	return -1;
}
