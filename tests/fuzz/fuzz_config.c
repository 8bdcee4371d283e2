/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the input is a config file, read through the entry
 * point of -c (config_load() on a path, here a file on a tmpfs rewritten
 * for each input).  The invariants: a refusal is EINVAL (the file was
 * readable), and a config that loads prints (-T) as a file that loads
 * back to the same config.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "echod/config.h"
#include "echod/log.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Set up once per process: the entry points take no context. */
static char	dir[PATH_MAX], path[PATH_MAX];

static void
cleanup(void)
{
	(void)unlink(path);
	(void)rmdir(dir);
}

/* A tmpfs if there is one: the write per input must not be the cost. */
static const char *
tmp_base(void)
{
	struct stat st;
	const char *t;

	if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
	    access("/dev/shm", W_OK) == 0)
		return "/dev/shm";
	t = getenv("TMPDIR");
	return t != NULL && t[0] != '\0' ? t : "/tmp";
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	FILE	*sink;

	(void)argc;
	(void)argv;
	if (snprintf(dir, sizeof(dir), "%s/echod-fuzz.XXXXXX",
	    tmp_base()) >= (int)sizeof(dir) || mkdtemp(dir) == NULL ||
	    snprintf(path, sizeof(path), "%s/echod.conf", dir) >=
	    (int)sizeof(path) || atexit(cleanup) != 0) {
		perror("fuzz_config: temporary directory");
		abort();
	}
	/* Every message is formatted and written, to nowhere. */
	if ((sink = fopen("/dev/null", "w")) == NULL) {
		perror("fuzz_config: /dev/null");
		abort();
	}
	log_init(sink, LOG_LEVEL_DEBUG);
	return 0;
}

static void
write_input(const uint8_t *data, size_t size)
{
	size_t	 off = 0;
	ssize_t	 n;
	int	 fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1)
		abort();
	while (off < size) {
		if ((n = write(fd, data + off, size - off)) == -1) {
			if (errno == EINTR)
				continue;
			abort();
		}
		off += (size_t)n;
	}
	if (close(fd) == -1)
		abort();
}

/* c as -T prints it, in a new heap string (the caller frees it). */
static char *
print(const struct echod_config *c)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*fp;

	if ((fp = open_memstream(&buf, &len)) == NULL)
		abort();
	if (config_print(c, fp) == -1 || fclose(fp) == EOF)
		abort();
	return buf;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct echod_config c, back;
	char	*text, *again;

	write_input(data, size);
	if (config_load(&c, path) == -1) {
		if (errno != EINVAL && errno != ENOMEM)
			abort();	/* readable, so "not a config" */
		return 0;
	}
	text = print(&c);
	if (config_load_buf(&back, text) == -1)
		abort();
	again = print(&back);
	if (strcmp(text, again) != 0 || config_sockets_differ(&c, &back))
		abort();
	free(again);
	free(text);
	config_free(&back);
	config_free(&c);
	return 0;
}
