/* SPDX-License-Identifier: MIT */
/*
 * The metrics endpoint: a libmicrohttpd daemon on its own thread serving
 * the exposition page, the metrics_allow check at accept, and the reload
 * transaction (prepare binds and starts the new endpoint, commit stops
 * the old one).  Built without libmicrohttpd, only the bookkeeping stays
 * and config.c refuses metrics_listen.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef ECHOD_HAVE_METRICS
#include <dlfcn.h>
#include <microhttpd.h>
#endif

#include "echod/acl.h"
#include "echod/cidr.h"
#include "echod/exposition.h"
#include "echod/log.h"
#include "echod/metrics.h"
#include "echod/net.h"
#include "echod/procstat.h"

#define METRICS_PATH	"/metrics"
#define METRICS_BACKLOG	64

int
metrics_init(struct metrics *m, struct counters *counters)
{
	int	 rc;

	memset(m, 0, sizeof(*m));
	m->counters = counters;
	atomic_init(&m->max_clients, 0);
	atomic_init(&m->reload_ok, true);
	/* Loading the config at start counts as its first success. */
	atomic_init(&m->reload_success, (uint64_t)time(NULL));
	if ((rc = pthread_mutex_init(&m->lock, NULL)) != 0) {
		errno = rc;
		log_err("metrics: mutex");
		return -1;
	}
	return 0;
}

void
metrics_reloaded(struct metrics *m, bool ok)
{
	atomic_store(&m->reload_ok, ok);
	if (ok)
		atomic_store(&m->reload_success, (uint64_t)time(NULL));
}

/* metrics_allow as an access list; NULL (logged) on failure. */
static struct acl *
build_acl(const struct echod_config *cfg)
{
	struct acl *acl = acl_build(cfg->metrics_allow.v, cfg->metrics_allow.n,
	    NULL, 0);

	if (acl == NULL)
		log_err("metrics_allow");
	return acl;
}

#ifdef ECHOD_HAVE_METRICS

/*
 * libmicrohttpd is loaded when an endpoint is first configured, not
 * linked: it brings GnuTLS and p11-kit, whose thread-local storage would
 * otherwise sit in every client thread's stack (one more page per idle
 * client).  Loaded, their TLS is allocated only in the threads that use
 * it.  Written by the main thread before any HTTP thread starts.
 */
static struct {
	void	*handle;
	__typeof__(MHD_start_daemon)		*start_daemon;
	__typeof__(MHD_stop_daemon)		*stop_daemon;
	__typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
	__typeof__(MHD_add_response_header)	*add_response_header;
	__typeof__(MHD_queue_response)		*queue_response;
	__typeof__(MHD_destroy_response)	*destroy_response;
	__typeof__(MHD_lookup_connection_value)	*lookup_connection_value;
} mhd;

/* One symbol into *fn (a function pointer); 0, or -1 (logged). */
static int
mhd_sym(void *fn, size_t size, const char *name)
{
	void	*sym = dlsym(mhd.handle, name);

	if (sym == NULL) {
		log_errx("metrics: %s: no %s", ECHOD_MHD_SONAME, name);
		return -1;
	}
	/* POSIX: a dlsym() result converts to a function pointer. */
	memcpy(fn, &sym, size);
	return 0;
}

#define MHD_SYM(f)	mhd_sym(&mhd.f, sizeof(mhd.f), "MHD_" #f)

/* Load libmicrohttpd once; 0, or -1 (logged). */
static int
mhd_load(void)
{
	if (mhd.handle != NULL)
		return 0;
	if ((mhd.handle = dlopen(ECHOD_MHD_SONAME, RTLD_NOW | RTLD_LOCAL)) ==
	    NULL) {
		log_errx("metrics: cannot load %s: %s", ECHOD_MHD_SONAME,
		    dlerror());
		return -1;
	}
	if (MHD_SYM(start_daemon) == -1 || MHD_SYM(stop_daemon) == -1 ||
	    MHD_SYM(create_response_from_buffer) == -1 ||
	    MHD_SYM(add_response_header) == -1 ||
	    MHD_SYM(queue_response) == -1 || MHD_SYM(destroy_response) == -1 ||
	    MHD_SYM(lookup_connection_value) == -1) {
		dlclose(mhd.handle);
		mhd.handle = NULL;
		return -1;
	}
	return 0;
}

/* libmicrohttpd's own messages, at debug level: one per odd client. */
static void __attribute__((format(printf, 2, 0)))
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char	 msg[256];
	size_t	 n;

	(void)cls;
	if (!log_enabled(LOG_LEVEL_DEBUG))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_debug("metrics: %s", msg);
}

/* metrics_allow, at accept: a refused source is closed unread. */
static enum MHD_Result
on_accept(void *cls, const struct sockaddr *sa, socklen_t len)
{
	struct metrics *m = cls;
	struct ipaddr ip;
	bool	 ok;

	if (ipaddr_from_sockaddr(&ip, sa, len) == -1)
		return MHD_NO;
	pthread_mutex_lock(&m->lock);
	/* An empty metrics_allow builds a list that allows everyone. */
	ok = m->acl != NULL && acl_check(m->acl, &ip) == ACL_ALLOW;
	pthread_mutex_unlock(&m->lock);
	return ok ? MHD_YES : MHD_NO;
}

/* A short plain-text answer with status code. */
static enum MHD_Result
reply_text(struct MHD_Connection *c, unsigned code, const char *text,
    const char *allow)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	char	 copy[128];
	int	 n = snprintf(copy, sizeof(copy), "%s", text);

	r = mhd.create_response_from_buffer(n > 0 ? (size_t)n : 0, copy,
	    MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	if (mhd.add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "text/plain; charset=utf-8") == MHD_NO || (allow != NULL &&
	    mhd.add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow) == MHD_NO)) {
		mhd.destroy_response(r);
		return MHD_NO;
	}
	ret = mhd.queue_response(c, code, r);
	mhd.destroy_response(r);
	return ret;
}

/* Everything the page shows, read now. */
static void
snapshot(struct metrics *m, struct exposition_input *in)
{
	memset(in, 0, sizeof(*in));
	counters_read(m->counters, in->v);
	counters_read_hist(m->counters, &in->hist);
	in->version = ECHOD_VERSION;
	in->max_clients = atomic_load(&m->max_clients);
	in->reload_ok = atomic_load(&m->reload_ok);
	in->reload_success = atomic_load(&m->reload_success);
	in->have_proc = procstat_read(&in->proc) == 0;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct exposition_input in;
	struct MHD_Response *r;
	enum exposition_format f;
	enum MHD_Result ret;
	size_t	 len;
	char	*page;

	(void)version;
	(void)upload;
	(void)upload_size;
	(void)con_cls;
	if (strcmp(url, METRICS_PATH) != 0)
		return reply_text(c, MHD_HTTP_NOT_FOUND, "not found: try "
		    METRICS_PATH "\n", NULL);
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "method not allowed: GET or HEAD\n", "GET, HEAD");
	f = exposition_negotiate(mhd.lookup_connection_value(c,
	    MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT));
	snapshot(cls, &in);
	if ((page = exposition_render(&in, f, &len)) == NULL)
		return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "out of memory\n", NULL);
	r = mhd.create_response_from_buffer(len, page, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(page);
		return MHD_NO;
	}
	if (mhd.add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	    exposition_content_type(f)) == MHD_NO) {
		mhd.destroy_response(r);
		return MHD_NO;
	}
	ret = mhd.queue_response(c, MHD_HTTP_OK, r);
	mhd.destroy_response(r);
	return ret;
}

/* Bind ss and serve it; the daemon, or NULL (logged). */
static struct MHD_Daemon *
serve(struct metrics *m, const struct sockaddr_storage *ss,
    socklen_t len)
{
	struct MHD_Daemon *d;
	char	 name[NET_ADDRSTRLEN];
	int	 fd;

	net_format_addr((const struct sockaddr *)ss, name, sizeof(name));
	if ((fd = net_tcp_listen((const struct sockaddr *)ss, len,
	    METRICS_BACKLOG, true, false, false)) == -1) {
		log_err("cannot bind metrics %s", name);
		return NULL;
	}
	/* The HTTP thread only reads m: the counters, the acl (locked). */
	d = mhd.start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_USE_ERROR_LOG, 0, on_accept, m, on_request, m,
	    /* First, or MHD reports on the options before it to stderr. */
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_MAX_CONNECTIONS,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)METRICS_MAX_PER_SOURCE,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_TIMEOUT,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)METRICS_MEMORY_LIMIT,
	    MHD_OPTION_END);
	if (d == NULL) {
		log_errx("metrics %s: cannot start the HTTP server", name);
		close(fd);
		return NULL;
	}
	log_info("metrics on http://%s" METRICS_PATH, name);
	return d;
}

int
metrics_prepare(struct metrics *m, const struct echod_config *cfg,
    struct metrics_change *ch)
{
	socklen_t len;

	memset(ch, 0, sizeof(*ch));
	ch->max_clients = (uint64_t)cfg->max_clients;
	if ((ch->acl = build_acl(cfg)) == NULL)
		return -1;
	if (cfg->metrics_listen[0] == '\0')
		return 0;
	/* The validator passed it. */
	if (net_parse_hostport(cfg->metrics_listen, ECHOD_DEFAULT_METRICS_PORT,
	    &ch->addr, &len) == -1) {
		log_errx("metrics_listen: '%s' is not an address and port",
		    cfg->metrics_listen);
		goto fail;
	}
	if (m->daemon != NULL && net_same_addr(&m->addr, &ch->addr)) {
		ch->keep = true;
		return 0;
	}
	if (mhd_load() == -1 ||
	    (ch->daemon = serve(m, &ch->addr, len)) == NULL)
		goto fail;
	return 0;
fail:
	acl_free(ch->acl);
	ch->acl = NULL;
	return -1;
}

void
metrics_commit(struct metrics *m, struct metrics_change *ch)
{
	struct acl *old;
	char	 name[NET_ADDRSTRLEN];

	pthread_mutex_lock(&m->lock);
	old = m->acl;
	m->acl = ch->acl;
	pthread_mutex_unlock(&m->lock);
	acl_free(old);
	atomic_store(&m->max_clients, ch->max_clients);
	if (ch->keep)
		return;
	if (m->daemon != NULL) {
		mhd.stop_daemon(m->daemon);
		log_info("metrics on http://%s" METRICS_PATH ": closed",
		    net_format_addr((struct sockaddr *)&m->addr, name,
		    sizeof(name)));
	}
	m->daemon = ch->daemon;
	m->addr = ch->addr;
}

void
metrics_abort(struct metrics_change *ch)
{
	if (ch->daemon != NULL)
		mhd.stop_daemon(ch->daemon);
	acl_free(ch->acl);
	memset(ch, 0, sizeof(*ch));
}

void
metrics_close(struct metrics *m)
{
	if (m->daemon != NULL)
		mhd.stop_daemon(m->daemon);
	m->daemon = NULL;
	acl_free(m->acl);
	m->acl = NULL;
	pthread_mutex_destroy(&m->lock);
}

#else /* !ECHOD_HAVE_METRICS */

int
metrics_prepare(struct metrics *m, const struct echod_config *cfg,
    struct metrics_change *ch)
{
	(void)m;
	memset(ch, 0, sizeof(*ch));
	/* config.c refuses the key in this build; never serve silently. */
	if (cfg->metrics_listen[0] != '\0') {
		log_errx("metrics_listen: this echod was built without the "
		    "metrics endpoint (libmicrohttpd)");
		return -1;
	}
	ch->acl = build_acl(cfg);
	return ch->acl != NULL ? 0 : -1;
}

void
metrics_commit(struct metrics *m, struct metrics_change *ch)
{
	acl_free(m->acl);
	m->acl = ch->acl;
}

void
metrics_abort(struct metrics_change *ch)
{
	acl_free(ch->acl);
	memset(ch, 0, sizeof(*ch));
}

void
metrics_close(struct metrics *m)
{
	acl_free(m->acl);
	m->acl = NULL;
	pthread_mutex_destroy(&m->lock);
}

#endif /* ECHOD_HAVE_METRICS */
