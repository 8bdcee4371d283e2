/* SPDX-License-Identifier: MIT */
/*
 * A config file is untrusted bytes: read it whole (regular files only,
 * opened without blocking, size-capped), refuse NUL bytes, and blank the
 * comments that libconfuse would miscount lines around.
 */

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "echod/config.h"
#include "echod/log.h"

#include "config_int.h"

/*
 * Blank out comments ("#" and "//" to the end of the line, "/" "*" to "*" "/"),
 * keeping newlines and quoted strings.  libconfuse 3.3 miscounts lines
 * around comments, so without this every message after a comment would
 * name the wrong line.
 */
int
config_strip_comments(char *p, size_t len, const char *name)
{
	char	*end = p + len, quote = 0;
	int	 line = 1, start;

	for (; p < end; p++) {
		if (*p == '\n')
			line++;
		if (quote != 0) {
			if (*p == '\\' && p + 1 < end)
				p++;
			else if (*p == quote)
				quote = 0;
		} else if (*p == '"' || *p == '\'') {
			quote = *p;
		} else if (*p == '#' || (*p == '/' && p + 1 < end &&
		    p[1] == '/')) {
			for (; p < end && *p != '\n'; p++)
				*p = ' ';
		} else if (*p == '/' && p + 1 < end && p[1] == '*') {
			start = line;
			*p++ = ' ';
			*p = ' ';
			for (p++; p < end && !(*p == '*' && p + 1 < end &&
			    p[1] == '/'); p++) {
				if (*p == '\n')
					line++;
				else
					*p = ' ';
			}
			if (p == end) {
				log_errx("%s:%d: unterminated /* comment", name,
				    start);
				return -1;
			}
			*p++ = ' ';
			*p = ' ';
		}
	}
	return 0;
}

static const char *
file_type(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a fifo";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "a device";
	return "not a regular file";
}

/*
 * Make room for more of a file being read: twice the room, up to one byte
 * more than a config may have (which tells a file that is too large).
 */
static int
grow(char **buf, size_t *room)
{
	size_t	 want = *room * 2 < CONFIG_MAX_BYTES + 1 ? *room * 2 :
	    CONFIG_MAX_BYTES + 1;
	char	*p;

	if ((p = realloc(*buf, want + 1)) == NULL)
		return -1;
	*buf = p;
	*room = want;
	return 0;
}

/*
 * Read all of path (at most CONFIG_MAX_BYTES) into a new NUL-ended buffer.
 * Only a regular file: a fifo or a device could block the main loop for
 * ever, so it is opened O_NONBLOCK and refused after fstat(2), unread.
 * The buffer is the file's size and one byte (EOF is seen without a
 * second buffer), grown only if the file grows while it is read: a load
 * costs what the file holds, not the 1 MiB cap.  On failure errno is
 * EINVAL when the bytes are not a config file (too large), else the
 * reason the file could not be read; logged either way.
 */
char *
config_read_file(const char *path, size_t *len)
{
	struct stat st;
	char	*buf = NULL;
	size_t	 n = 0, room;
	ssize_t	 r;
	int	 fd, saved;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC |
	    O_NOCTTY)) == -1) {
		log_err("cannot read %s", path);
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		log_err("cannot read %s", path);
		goto out;
	}
	/* /dev/null is the usual way to say "the built-in defaults". */
	if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3))
		st.st_size = 0;
	else if (!S_ISREG(st.st_mode)) {
		log_errx("cannot read %s: %s, not a regular file", path,
		    file_type(st.st_mode));
		errno = EPERM;
		goto out;
	}
	room = st.st_size < CONFIG_MAX_BYTES ? (size_t)st.st_size + 1 :
	    CONFIG_MAX_BYTES + 1;
	if ((buf = malloc(room + 1)) == NULL) {
		log_err("cannot read %s", path);
		goto out;
	}
	/* One byte more than allowed tells a file that is too large. */
	while (S_ISREG(st.st_mode) && n <= CONFIG_MAX_BYTES) {
		if (n == room && grow(&buf, &room) == -1) {
			log_err("cannot read %s", path);
			goto fail;
		}
		r = read(fd, buf + n, room - n);
		if (r == 0)
			break;
		if (r == -1) {
			if (errno == EINTR)
				continue;
			log_err("cannot read %s", path);
			goto fail;
		}
		n += (size_t)r;
	}
	if (n > CONFIG_MAX_BYTES) {
		log_errx("%s: larger than %d bytes; not a config file?", path,
		    CONFIG_MAX_BYTES);
		errno = EINVAL;
		goto fail;
	}
	buf[n] = '\0';
	*len = n;
	goto out;
fail:
	free(buf);
	buf = NULL;
out:
	saved = errno;
	close(fd);
	errno = saved;
	return buf;
}

/* A NUL byte would end libconfuse's string early: refuse the file. */
int
config_reject_nul(const char *text, size_t len, const char *name)
{
	const char *nul = memchr(text, '\0', len), *p;
	int	 line = 1;

	if (nul == NULL)
		return 0;
	for (p = text; p < nul; p++)
		if (*p == '\n')
			line++;
	log_errx("%s:%d: NUL byte: not a text file", name, line);
	return -1;
}

/*
 * Read the STAMP key: the file's octets, one trailing newline dropped,
 * STAMP_KEY_MIN to STAMP_KEY_MAX of them.  A regular file that neither
 * group nor others may read or write: a key other users can read is no
 * secret.  On failure *why says so; -1.
 */
int
config_read_key(const char *path, struct stamp_key *k, char *why, size_t size)
{
	uint8_t	 buf[STAMP_KEY_MAX + 2];
	struct stat st;
	ssize_t	 n;
	size_t	 len = 0;
	int	 fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC |
	    O_NOCTTY)) == -1) {
		snprintf(why, size, "%s", log_errstr(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(why, size, "%s", log_errstr(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, size, "not a regular file");
		goto out;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(why, size, "group or other users may read it (mode "
		    "%04o); chmod 600 it, or pass it with systemd's "
		    "LoadCredential=", (unsigned)(st.st_mode & 07777));
		goto out;
	}
	/* One octet more than a key and its newline tells a file too long. */
	while (len < sizeof(buf)) {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(why, size, "%s", log_errstr(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len < STAMP_KEY_MIN || len > STAMP_KEY_MAX) {
		snprintf(why, size, "the key must be %d to %d octets, not %s%zu",
		    STAMP_KEY_MIN, STAMP_KEY_MAX, len > STAMP_KEY_MAX ?
		    "more than " : "", len > STAMP_KEY_MAX ?
		    (size_t)STAMP_KEY_MAX : len);
		goto out;
	}
	memcpy(k->bytes, buf, len);
	k->len = len;
	rc = 0;
out:
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return rc;
}
