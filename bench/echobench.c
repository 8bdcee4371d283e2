/*
 * echobench - load generator for RFC 862 echo servers (TCP and UDP).
 *
 * Modes:
 *   pingpong  C persistent connections; each sends an S-byte message and
 *             reads the full S bytes back, byte-for-byte verified.
 *   connect   C workers looping connect -> send S -> read S -> close.
 *   bulk      C connections streaming S-byte chunks while a second thread
 *             per connection reads and verifies the echo concurrently.
 *   udp       C sockets doing datagram ping-pong with a reply timeout.
 *
 * Every echoed byte is compared with what was sent. Payloads come from a
 * pseudo-random pattern at a per-request offset, so a server that echoes a
 * stale, truncated, reordered or foreign message is caught.
 *
 * Output: one machine-readable summary line on stdout.
 * Exit status: 0 ok, 1 echoed data mismatch, 2 usage error,
 *              3 network error (refused, reset, timeout, short echo),
 *              4 watchdog fired (run did not end in time).
 *
 * Build: cc -std=c17 -O2 -Wall -Wextra -Wpedantic -Werror -pthread \
 *            -o echobench echobench.c
 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

enum mode { M_PINGPONG, M_CONNECT, M_BULK, M_UDP };
static const char *const mode_names[] = {"pingpong", "connect", "bulk", "udp"};
static const char *const mode_units[] = {"req/s", "conn/s", "MiB/s", "dgram/s"};

enum { ST_OK = 0, ST_MISMATCH = 1, ST_USAGE = 2, ST_NETERR = 3, ST_WATCHDOG = 4 };

#define MAX_CONNS 5000
#define MAX_SECS 3600.0
#define MAX_TCP_SIZE (1024u * 1024u)
#define MAX_BULK_CHUNK ((size_t)1024 * 1024)
#define MAX_UDP_SIZE 65507u
#define UDP_HDR 12u /* 8-byte sequence + 4-byte socket id */
#define PAT_LEN 1048573u /* prime, > every message/chunk size */
#define BULK_RBUF 65536u
#define MAX_ERR_MSGS 8

static struct config {
    enum mode mode;
    const char *host;
    const char *port;
    int conns;
    size_t size;
    double secs;
    int io_timeout_ms;
    int udp_timeout_ms;
    bool allow_remote;
    bool verbose;
    uint64_t seed;
} cfg = {
    .mode = M_PINGPONG,
    .host = "127.0.0.1",
    .port = NULL,
    .conns = 1,
    .size = 0,
    .secs = 5.0,
    .io_timeout_ms = 10000,
    .udp_timeout_ms = 200,
    .allow_remote = false,
    .verbose = false,
    .seed = 0x9e3779b97f4a7c15ull,
};

static struct sockaddr_storage g_addr;
static socklen_t g_addrlen;
static int g_family;
static unsigned char *g_pat; /* 2 * PAT_LEN bytes: any window <= PAT_LEN is contiguous */

static atomic_bool g_abort;
static atomic_int g_status;
static atomic_int g_nerr_msgs;
static _Atomic uint64_t g_deadline_ns;

/* Start gate: workers finish their setup, then wait until main opens it. */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int gate_ready;
static bool gate_open;

/* ---------- small helpers ---------- */

static void die_errno(const char *what)
{
    fprintf(stderr, "echobench: %s: %s\n", what, strerror(errno));
    exit(ST_NETERR);
}

static void die_rc(const char *what, int rc)
{
    fprintf(stderr, "echobench: %s: %s\n", what, strerror(rc));
    exit(ST_NETERR);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        die_errno("clock_gettime");
    }
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Record a failure: the first few get printed, the worst status wins, and
 * every worker is told to stop. */
static void fail(int status, const char *fmt, ...)
{
    if (atomic_fetch_add(&g_nerr_msgs, 1) < MAX_ERR_MSGS) {
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        if (n >= 0) {
            fprintf(stderr, "echobench: %s\n", msg);
        }
    }
    int cur = atomic_load(&g_status);
    /* Data mismatch outranks network errors: it is the more serious finding. */
    while (cur != ST_MISMATCH &&
           !atomic_compare_exchange_weak(&g_status, &cur, status)) {
    }
    atomic_store(&g_abort, true);
}

static void fail_errno(const char *ctx, int id, int err)
{
    if (err == EAGAIN || err == EWOULDBLOCK || err == EINPROGRESS) {
        fail(ST_NETERR, "worker %d: %s: timed out after %d ms", id, ctx,
             cfg.io_timeout_ms);
    } else if (err == EADDRNOTAVAIL) {
        fail(ST_NETERR, "worker %d: %s: %s (ephemeral ports exhausted?)", id,
             ctx, strerror(err));
    } else {
        fail(ST_NETERR, "worker %d: %s: %s", id, ctx, strerror(err));
    }
}

static void report_mismatch(int id, const char *ctx, const unsigned char *got,
                            const unsigned char *want, size_t n, uint64_t base)
{
    size_t i = 0;
    while (i < n && got[i] == want[i]) {
        i++;
    }
    fail(ST_MISMATCH,
         "worker %d: %s: echoed data mismatch at byte %llu: got 0x%02x, "
         "expected 0x%02x",
         id, ctx, (unsigned long long)base + i, i < n ? got[i] : 0u,
         i < n ? want[i] : 0u);
}

/* ---------- latency histogram (log-linear, ~1.6% resolution) ---------- */

#define H_SUBBITS 6
#define H_SUB (1u << H_SUBBITS)
#define H_MAXBIT 36 /* values clamp at 2^36 ns (~68 s) */
#define H_BUCKETS ((size_t)(H_MAXBIT - H_SUBBITS + 1) * H_SUB)

static unsigned hist_index(uint64_t v)
{
    if (v >= (1ull << H_MAXBIT)) {
        v = (1ull << H_MAXBIT) - 1;
    }
    if (v < (uint64_t)2 * H_SUB) {
        return (unsigned)v;
    }
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = msb - H_SUBBITS;
    return (shift + 1) * H_SUB + (unsigned)((v >> shift) - H_SUB);
}

static double hist_value(unsigned idx)
{
    if (idx < 2 * H_SUB) {
        return (double)idx;
    }
    unsigned shift = idx / H_SUB - 1;
    uint64_t m = (uint64_t)(idx % H_SUB) + H_SUB;
    uint64_t lo = m << shift;
    uint64_t width = 1ull << shift;
    return (double)lo + (double)width / 2.0;
}

static double hist_percentile_us(const uint64_t *h, uint64_t total, double p)
{
    if (total == 0) {
        return 0.0;
    }
    uint64_t rank = (uint64_t)(p * (double)total);
    if ((double)rank < p * (double)total) {
        rank++;
    }
    if (rank == 0) {
        rank = 1;
    }
    uint64_t cum = 0;
    for (unsigned i = 0; i < H_BUCKETS; i++) {
        cum += h[i];
        if (cum >= rank) {
            return hist_value(i) / 1000.0;
        }
    }
    return hist_value((unsigned)(H_BUCKETS - 1)) / 1000.0;
}

/* ---------- socket I/O ---------- */

static int set_timeouts(int fd)
{
    struct timeval tv = {
        .tv_sec = cfg.io_timeout_ms / 1000,
        .tv_usec = (suseconds_t)(cfg.io_timeout_ms % 1000) * 1000,
    };
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) {
        return -1;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) {
        return -1;
    }
    return 0;
}

/* Returns a connected TCP socket or -1 with errno set. */
static int tcp_connect(bool nodelay)
{
    int fd = socket(g_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    int one = 1;
    if (set_timeouts(fd) != 0 ||
        (nodelay &&
         setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)) {
        int e = errno;
        (void)close(fd);
        errno = e;
        return -1;
    }
    for (;;) {
        if (connect(fd, (const struct sockaddr *)&g_addr, g_addrlen) == 0) {
            return fd;
        }
        if (errno != EINTR) {
            break;
        }
    }
    int e = errno;
    (void)close(fd);
    errno = e;
    return -1;
}

/* 0 on success, -1 with errno set. */
static int send_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t r = send(fd, p, n, MSG_NOSIGNAL);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* 0 on success, 1 on early EOF (*got holds the byte count), -1 with errno. */
static int recv_all(int fd, unsigned char *p, size_t n, size_t *got)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = recv(fd, p + done, n - done, 0);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            *got = done;
            return -1;
        }
        if (r == 0) {
            *got = done;
            return 1;
        }
        done += (size_t)r;
    }
    *got = done;
    return 0;
}

static void close_fd(int fd)
{
    if (fd >= 0 && close(fd) != 0 && errno != EINTR) {
        fprintf(stderr, "echobench: close: %s\n", strerror(errno));
    }
}

/* ---------- workers ---------- */

struct worker {
    pthread_t th;
    int id;
    int fd;
    uint64_t rng;
    uint64_t ops;     /* completed operations inside the window */
    uint64_t bytes;   /* bulk: verified bytes echoed inside the window */
    uint64_t lost;    /* udp: timed-out requests inside the window */
    uint64_t late;    /* udp: replies that arrived after their timeout */
    uint32_t *hist;
    /* bulk only */
    pthread_t reader;
    uint64_t bulk_base;
    _Atomic uint64_t bulk_sent;
    atomic_bool bulk_wdone;
};

static void gate_wait(void)
{
    int rc = pthread_mutex_lock(&gate_mu);
    if (rc != 0) {
        die_rc("pthread_mutex_lock", rc);
    }
    gate_ready++;
    rc = pthread_cond_broadcast(&gate_cv);
    if (rc != 0) {
        die_rc("pthread_cond_broadcast", rc);
    }
    while (!gate_open) {
        rc = pthread_cond_wait(&gate_cv, &gate_mu);
        if (rc != 0) {
            die_rc("pthread_cond_wait", rc);
        }
    }
    rc = pthread_mutex_unlock(&gate_mu);
    if (rc != 0) {
        die_rc("pthread_mutex_unlock", rc);
    }
}

static void hist_add(struct worker *w, uint64_t ns)
{
    uint32_t *b = &w->hist[hist_index(ns)];
    if (*b != UINT32_MAX) {
        (*b)++;
    }
}

static bool verify_tcp_echo(struct worker *w, const char *ctx, int rc,
                            size_t got, const unsigned char *buf,
                            const unsigned char *want)
{
    if (rc < 0) {
        fail_errno(ctx, w->id, errno);
        return false;
    }
    if (rc > 0) {
        fail(ST_NETERR,
             "worker %d: %s: server closed after echoing %zu of %zu bytes",
             w->id, ctx, got, cfg.size);
        return false;
    }
    if (memcmp(buf, want, cfg.size) != 0) {
        report_mismatch(w->id, ctx, buf, want, cfg.size, 0);
        return false;
    }
    return true;
}

static void *pingpong_worker(void *arg)
{
    struct worker *w = arg;
    unsigned char *buf = malloc(cfg.size);
    if (buf == NULL) {
        fail(ST_NETERR, "worker %d: out of memory", w->id);
        w->fd = -1; /* the loop below runs only with a buffer */
    } else {
        w->fd = tcp_connect(true);
        if (w->fd < 0) {
            fail_errno("connect", w->id, errno);
        }
    }
    gate_wait();
    uint64_t deadline = atomic_load(&g_deadline_ns);
    while (w->fd >= 0 && !atomic_load_explicit(&g_abort, memory_order_relaxed)) {
        const unsigned char *msg = g_pat + splitmix64(&w->rng) % PAT_LEN;
        size_t got = 0;
        uint64_t t0 = now_ns();
        if (send_all(w->fd, msg, cfg.size) != 0) {
            fail_errno("send", w->id, errno);
            break;
        }
        int rc = recv_all(w->fd, buf, cfg.size, &got);
        uint64_t t1 = now_ns();
        if (!verify_tcp_echo(w, "pingpong", rc, got, buf, msg)) {
            break;
        }
        if (t1 > deadline) {
            break;
        }
        w->ops++;
        hist_add(w, t1 - t0);
    }
    close_fd(w->fd);
    w->fd = -1;
    free(buf);
    return NULL;
}

static void *connect_worker(void *arg)
{
    struct worker *w = arg;
    unsigned char *buf = malloc(cfg.size);
    if (buf == NULL) {
        fail(ST_NETERR, "worker %d: out of memory", w->id);
    }
    gate_wait();
    uint64_t deadline = atomic_load(&g_deadline_ns);
    while (buf != NULL && !atomic_load_explicit(&g_abort, memory_order_relaxed)) {
        const unsigned char *msg = g_pat + splitmix64(&w->rng) % PAT_LEN;
        size_t got = 0;
        uint64_t t0 = now_ns();
        int fd = tcp_connect(true);
        if (fd < 0) {
            fail_errno("connect", w->id, errno);
            break;
        }
        if (send_all(fd, msg, cfg.size) != 0) {
            fail_errno("send", w->id, errno);
            close_fd(fd);
            break;
        }
        int rc = recv_all(fd, buf, cfg.size, &got);
        if (close(fd) != 0 && errno != EINTR) {
            fail_errno("close", w->id, errno);
            break;
        }
        uint64_t t1 = now_ns();
        if (!verify_tcp_echo(w, "connect", rc, got, buf, msg)) {
            break;
        }
        if (t1 > deadline) {
            break;
        }
        w->ops++;
        hist_add(w, t1 - t0);
    }
    free(buf);
    return NULL;
}

/* Bulk reader: reads the echo of the stream the writer produces and checks
 * it against the pattern, until every byte the writer sent has come back. */
static void *bulk_reader(void *arg)
{
    struct worker *w = arg;
    unsigned char *buf = malloc(BULK_RBUF);
    if (buf == NULL) {
        fail(ST_NETERR, "worker %d: out of memory", w->id);
        return NULL;
    }
    uint64_t base = w->bulk_base;
    uint64_t rx = 0;
    int idle_ms = 0;
    for (;;) {
        if (atomic_load(&w->bulk_wdone) && rx == atomic_load(&w->bulk_sent)) {
            break; /* everything echoed */
        }
        if (atomic_load_explicit(&g_abort, memory_order_relaxed)) {
            break;
        }
        struct pollfd pfd = {.fd = w->fd, .events = POLLIN};
        int pr = poll(&pfd, 1, 100);
        if (pr < 0) {
            if (errno == EINTR) {
                continue;
            }
            fail_errno("poll", w->id, errno);
            break;
        }
        if (pr == 0) {
            idle_ms += 100;
            if (idle_ms >= cfg.io_timeout_ms) {
                fail(ST_NETERR,
                     "worker %d: bulk: no echo for %d ms (%llu of %llu bytes "
                     "echoed)",
                     w->id, cfg.io_timeout_ms, (unsigned long long)rx,
                     (unsigned long long)atomic_load(&w->bulk_sent));
                break;
            }
            continue;
        }
        idle_ms = 0;
        ssize_t r = recv(w->fd, buf, BULK_RBUF, MSG_DONTWAIT);
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) {
                continue;
            }
            fail_errno("bulk recv", w->id, errno);
            break;
        }
        if (r == 0) {
            bool wdone = atomic_load(&w->bulk_wdone);
            uint64_t sent = atomic_load(&w->bulk_sent);
            if (!(wdone && rx == sent)) {
                fail(ST_NETERR,
                     "worker %d: bulk: server closed after echoing %llu of "
                     "%llu bytes",
                     w->id, (unsigned long long)rx, (unsigned long long)sent);
            }
            break;
        }
        uint64_t t = now_ns();
        if (rx + (uint64_t)r > atomic_load(&w->bulk_sent)) {
            fail(ST_MISMATCH,
                 "worker %d: bulk: server echoed more bytes than were sent "
                 "(%llu > %llu)",
                 w->id, (unsigned long long)rx + (uint64_t)r,
                 (unsigned long long)atomic_load(&w->bulk_sent));
            break;
        }
        const unsigned char *want = g_pat + (base + rx) % PAT_LEN;
        if (memcmp(buf, want, (size_t)r) != 0) {
            report_mismatch(w->id, "bulk", buf, want, (size_t)r, rx);
            break;
        }
        rx += (uint64_t)r;
        uint64_t deadline = atomic_load(&g_deadline_ns);
        if (deadline != 0 && t <= deadline) {
            w->bytes = rx;
        }
    }
    free(buf);
    return NULL;
}

static void *bulk_worker(void *arg)
{
    struct worker *w = arg;
    bool reader = false;
    /* Each connection streams the pattern from its own starting offset. */
    uint64_t base = splitmix64(&w->rng) % PAT_LEN;
    w->bulk_base = base;
    w->fd = tcp_connect(false);
    if (w->fd < 0) {
        fail_errno("connect", w->id, errno);
    } else {
        int rc = pthread_create(&w->reader, NULL, bulk_reader, w);
        if (rc != 0) {
            fail(ST_NETERR, "worker %d: pthread_create: %s", w->id,
                 strerror(rc));
        } else {
            reader = true;
        }
    }
    gate_wait();
    uint64_t deadline = atomic_load(&g_deadline_ns);
    uint64_t tx = 0;
    while (reader && !atomic_load_explicit(&g_abort, memory_order_relaxed)) {
        if (now_ns() >= deadline) {
            break;
        }
        const unsigned char *chunk = g_pat + (base + tx) % PAT_LEN;
        /* Publish before sending: the echo may arrive before send returns. */
        atomic_store(&w->bulk_sent, tx + cfg.size);
        if (send_all(w->fd, chunk, cfg.size) != 0) {
            fail_errno("bulk send", w->id, errno);
            break;
        }
        tx += cfg.size;
    }
    atomic_store(&w->bulk_wdone, true);
    if (w->fd >= 0 && shutdown(w->fd, SHUT_WR) != 0 &&
        !atomic_load(&g_abort)) {
        fail_errno("shutdown", w->id, errno);
    }
    if (reader) {
        int rc = pthread_join(w->reader, NULL);
        if (rc != 0) {
            die_rc("pthread_join", rc);
        }
    }
    close_fd(w->fd);
    w->fd = -1;
    return NULL;
}

static uint64_t udp_offset(uint32_t id, uint64_t seq)
{
    uint64_t s = ((uint64_t)id << 40) ^ seq ^ cfg.seed;
    return splitmix64(&s) % PAT_LEN;
}

static void udp_fill(unsigned char *buf, uint32_t id, uint64_t seq)
{
    for (unsigned i = 0; i < 8; i++) {
        buf[i] = (unsigned char)(seq >> (8 * i));
    }
    for (unsigned i = 0; i < 4; i++) {
        buf[8 + i] = (unsigned char)(id >> (8 * i));
    }
    memcpy(buf + UDP_HDR, g_pat + udp_offset(id, seq), cfg.size - UDP_HDR);
}

static void *udp_worker(void *arg)
{
    struct worker *w = arg;
    uint32_t id = (uint32_t)w->id;
    unsigned char *out = malloc(cfg.size);
    unsigned char *in = malloc(MAX_UDP_SIZE + 1);
    unsigned char *want = malloc(cfg.size);
    if (out == NULL || in == NULL || want == NULL) {
        fail(ST_NETERR, "worker %d: out of memory", w->id);
        w->fd = -1; /* the loop below runs only with all three buffers */
    } else {
        w->fd = socket(g_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (w->fd < 0) {
            fail_errno("socket", w->id, errno);
        } else if (connect(w->fd, (const struct sockaddr *)&g_addr,
                           g_addrlen) != 0) {
            fail_errno("udp connect", w->id, errno);
            close_fd(w->fd);
            w->fd = -1;
        }
    }
    gate_wait();
    uint64_t deadline = atomic_load(&g_deadline_ns);
    uint64_t seq = 0;
    while (w->fd >= 0 && !atomic_load_explicit(&g_abort, memory_order_relaxed)) {
        seq++;
        udp_fill(out, id, seq);
        uint64_t t0 = now_ns();
        uint64_t give_up = t0 + (uint64_t)cfg.udp_timeout_ms * 1000000ull;
        ssize_t sr;
        do {
            sr = send(w->fd, out, cfg.size, MSG_NOSIGNAL);
        } while (sr < 0 && errno == EINTR);
        if (sr < 0) {
            fail_errno("udp send", w->id, errno);
            break;
        }
        if ((size_t)sr != cfg.size) {
            fail(ST_NETERR, "worker %d: udp send: short datagram", w->id);
            break;
        }
        bool answered = false;
        bool stop = false;
        for (;;) {
            uint64_t t = now_ns();
            if (t >= give_up) {
                break;
            }
            int wait_ms = (int)((give_up - t + 999999ull) / 1000000ull);
            struct pollfd pfd = {.fd = w->fd, .events = POLLIN};
            int pr = poll(&pfd, 1, wait_ms);
            if (pr < 0) {
                if (errno == EINTR) {
                    continue;
                }
                fail_errno("poll", w->id, errno);
                stop = true;
                break;
            }
            if (pr == 0) {
                continue; /* loop re-checks give_up */
            }
            ssize_t r = recv(w->fd, in, MAX_UDP_SIZE + 1, MSG_DONTWAIT);
            if (r < 0) {
                if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) {
                    continue;
                }
                fail_errno("udp recv", w->id, errno);
                stop = true;
                break;
            }
            uint64_t t1 = now_ns();
            if ((size_t)r != cfg.size) {
                fail(ST_MISMATCH,
                     "worker %d: udp: echoed datagram has %zd bytes, sent %zu",
                     w->id, r, cfg.size);
                stop = true;
                break;
            }
            uint64_t rseq = 0;
            uint32_t rid = 0;
            for (unsigned i = 0; i < 8; i++) {
                rseq |= (uint64_t)in[i] << (8 * i);
            }
            for (unsigned i = 0; i < 4; i++) {
                rid |= (uint32_t)in[8 + i] << (8 * i);
            }
            if (rid != id || rseq == 0 || rseq > seq) {
                fail(ST_MISMATCH,
                     "worker %d: udp: echoed datagram header is not one we "
                     "sent (id %u seq %llu, current seq %llu)",
                     w->id, rid, (unsigned long long)rseq,
                     (unsigned long long)seq);
                stop = true;
                break;
            }
            udp_fill(want, id, rseq);
            if (memcmp(in, want, cfg.size) != 0) {
                report_mismatch(w->id, "udp", in, want, cfg.size, 0);
                stop = true;
                break;
            }
            if (rseq < seq) {
                if (t1 <= deadline) {
                    w->late++;
                }
                continue; /* stale reply to an earlier, timed-out request */
            }
            if (t1 > deadline) {
                stop = true;
                break;
            }
            answered = true;
            w->ops++;
            hist_add(w, t1 - t0);
            break;
        }
        if (stop) {
            break;
        }
        if (!answered) {
            if (now_ns() > deadline) {
                break;
            }
            w->lost++;
        }
    }
    close_fd(w->fd);
    w->fd = -1;
    free(out);
    free(in);
    free(want);
    return NULL;
}

/* ---------- setup ---------- */

static void usage(FILE *f)
{
    fprintf(f,
        "usage: echobench -p PORT [-m MODE] [-H HOST] [-c CONNS] [-s SIZE]\n"
        "                 [-d SECS] [-t MS] [-u MS] [-S SEED] [-R] [-v] [-h]\n"
        "\n"
        "Load generator for RFC 862 echo servers; verifies every echoed byte.\n"
        "\n"
        "  -m MODE   pingpong (default) | connect | bulk | udp\n"
        "              pingpong: CONNS persistent connections, each sends SIZE\n"
        "                        bytes and reads them back; req/s, p50/p99\n"
        "              connect:  CONNS workers looping connect/send/recv/close;\n"
        "                        conn/s, p50/p99 of the whole cycle\n"
        "              bulk:     CONNS connections streaming SIZE-byte chunks\n"
        "                        while reading the echo concurrently; MiB/s\n"
        "              udp:      CONNS sockets doing datagram ping-pong;\n"
        "                        dgram/s, loss, p50/p99\n"
        "  -H HOST   server address (default 127.0.0.1); must be loopback\n"
        "            unless -R is given\n"
        "  -p PORT   server port (required)\n"
        "  -c CONNS  connections / workers / sockets, 1..%d (default 1)\n"
        "  -s SIZE   message size in bytes (default: 64; bulk: 65536 per\n"
        "            write; udp: 512, minimum %u)\n"
        "  -d SECS   measured duration, > 0 and <= %.0f (default 5)\n"
        "  -t MS     TCP I/O and connect timeout (default 10000)\n"
        "  -u MS     UDP reply timeout; a datagram not answered in time is\n"
        "            counted as lost (default 200)\n"
        "  -S SEED   payload pattern seed (default fixed)\n"
        "  -R        allow a non-loopback server address\n"
        "  -v        print a human-readable summary on stderr too\n"
        "  -h        this help\n"
        "\n"
        "Output: one line 'mode=... rate=... status=...' on stdout.\n"
        "Exit: 0 ok, 1 echoed data mismatch, 2 usage, 3 network error or\n"
        "timeout, 4 watchdog (run overran its time bound).\n",
        MAX_CONNS, UDP_HDR, MAX_SECS);
}

static bool parse_long(const char *s, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
        return false;
    }
    *out = v;
    return true;
}

static void bad_arg(char opt, const char *val)
{
    fprintf(stderr, "echobench: invalid value for -%c: '%s'\n", opt, val);
    usage(stderr);
    exit(ST_USAGE);
}

static void parse_args(int argc, char **argv)
{
    int c;
    long v;
    bool size_set = false;
    while ((c = getopt(argc, argv, "m:H:p:c:s:d:t:u:S:Rvh")) != -1) {
        switch (c) {
        case 'm': {
            bool found = false;
            for (int i = 0; i < 4; i++) {
                if (strcmp(optarg, mode_names[i]) == 0) {
                    cfg.mode = (enum mode)i;
                    found = true;
                }
            }
            if (!found) {
                bad_arg('m', optarg);
            }
            break;
        }
        case 'H':
            cfg.host = optarg;
            break;
        case 'p':
            if (!parse_long(optarg, 1, 65535, &v)) {
                bad_arg('p', optarg);
            }
            cfg.port = optarg;
            break;
        case 'c':
            if (!parse_long(optarg, 1, MAX_CONNS, &v)) {
                bad_arg('c', optarg);
            }
            cfg.conns = (int)v;
            break;
        case 's':
            if (!parse_long(optarg, 1, (long)MAX_TCP_SIZE, &v)) {
                bad_arg('s', optarg);
            }
            cfg.size = (size_t)v;
            size_set = true;
            break;
        case 'd': {
            char *end = NULL;
            errno = 0;
            double d = strtod(optarg, &end);
            if (errno != 0 || end == optarg || *end != '\0' || !(d > 0.0) ||
                d > MAX_SECS) {
                bad_arg('d', optarg);
            }
            cfg.secs = d;
            break;
        }
        case 't':
            if (!parse_long(optarg, 1, 600000, &v)) {
                bad_arg('t', optarg);
            }
            cfg.io_timeout_ms = (int)v;
            break;
        case 'u':
            if (!parse_long(optarg, 1, 60000, &v)) {
                bad_arg('u', optarg);
            }
            cfg.udp_timeout_ms = (int)v;
            break;
        case 'S': {
            char *end = NULL;
            errno = 0;
            unsigned long long s = strtoull(optarg, &end, 0);
            if (errno != 0 || end == optarg || *end != '\0') {
                bad_arg('S', optarg);
            }
            cfg.seed = (uint64_t)s;
            break;
        }
        case 'R':
            cfg.allow_remote = true;
            break;
        case 'v':
            cfg.verbose = true;
            break;
        case 'h':
            usage(stdout);
            exit(ST_OK);
        default:
            usage(stderr);
            exit(ST_USAGE);
        }
    }
    if (optind != argc) {
        fprintf(stderr, "echobench: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        exit(ST_USAGE);
    }
    if (cfg.port == NULL) {
        fprintf(stderr, "echobench: -p PORT is required\n");
        usage(stderr);
        exit(ST_USAGE);
    }
    if (!size_set) {
        cfg.size = cfg.mode == M_BULK ? 65536 : cfg.mode == M_UDP ? 512 : 64;
    }
    if (cfg.mode == M_UDP && (cfg.size < UDP_HDR || cfg.size > MAX_UDP_SIZE)) {
        fprintf(stderr, "echobench: udp size must be %u..%u\n", UDP_HDR,
                MAX_UDP_SIZE);
        exit(ST_USAGE);
    }
    if (cfg.mode == M_BULK && cfg.size > MAX_BULK_CHUNK) {
        fprintf(stderr, "echobench: bulk chunk must be <= %zu\n",
                MAX_BULK_CHUNK);
        exit(ST_USAGE);
    }
}

static bool is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        if (IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr)) {
            return true;
        }
        return IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) &&
               s6->sin6_addr.s6_addr[12] == 127;
    }
    return false;
}

static void resolve(void)
{
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = cfg.mode == M_UDP ? SOCK_DGRAM : SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(cfg.host, cfg.port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "echobench: cannot resolve %s: %s\n", cfg.host,
                gai_strerror(rc));
        exit(ST_USAGE);
    }
    if (res == NULL || res->ai_addrlen > sizeof g_addr) {
        fprintf(stderr, "echobench: no usable address for %s\n", cfg.host);
        exit(ST_USAGE);
    }
    memcpy(&g_addr, res->ai_addr, res->ai_addrlen);
    g_addrlen = res->ai_addrlen;
    g_family = res->ai_family;
    freeaddrinfo(res);
    if (!cfg.allow_remote && !is_loopback((const struct sockaddr *)&g_addr)) {
        fprintf(stderr,
                "echobench: %s is not a loopback address; refusing without "
                "-R\n",
                cfg.host);
        exit(ST_USAGE);
    }
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        die_errno("getrlimit");
    }
    rlim_t need = (rlim_t)cfg.conns * 2 + 64;
    if (rl.rlim_cur >= need) {
        return;
    }
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
        fprintf(stderr, "echobench: need %llu file descriptors, hard limit is "
                        "%llu\n",
                (unsigned long long)need, (unsigned long long)rl.rlim_max);
        exit(ST_USAGE);
    }
    rl.rlim_cur = need;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        die_errno("setrlimit");
    }
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] =
        "echobench: watchdog: run exceeded its time bound, aborting\n";
    ssize_t r = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)r;
    _exit(ST_WATCHDOG);
}

static void setup_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    if (sigemptyset(&sa.sa_mask) != 0 || sigaction(SIGPIPE, &sa, NULL) != 0) {
        die_errno("sigaction(SIGPIPE)");
    }
    sa.sa_handler = on_alarm;
    if (sigaction(SIGALRM, &sa, NULL) != 0) {
        die_errno("sigaction(SIGALRM)");
    }
    /* Hard bound: duration + connect/drain timeouts + slack. */
    double bound = cfg.secs + 3.0 * cfg.io_timeout_ms / 1000.0 + 10.0;
    struct itimerval it;
    memset(&it, 0, sizeof it);
    it.it_value.tv_sec = (time_t)bound;
    if (setitimer(ITIMER_REAL, &it, NULL) != 0) {
        die_errno("setitimer");
    }
}

/* Prints the summary line; returns the exit status. */
static int report(const struct worker *ws, int started)
{
    uint64_t ops = 0, bytes = 0, lost = 0, late = 0;
    uint64_t *h = calloc(H_BUCKETS, sizeof *h);
    if (h == NULL) {
        fprintf(stderr, "echobench: out of memory\n");
        return ST_NETERR;
    }
    for (int i = 0; i < started; i++) {
        ops += ws[i].ops;
        bytes += ws[i].bytes;
        lost += ws[i].lost;
        late += ws[i].late;
        for (unsigned b = 0; b < H_BUCKETS; b++) {
            h[b] += ws[i].hist[b];
        }
    }
    int status = atomic_load(&g_status);
    const char *st = status == ST_OK         ? "ok"
                     : status == ST_MISMATCH ? "mismatch"
                                             : "neterr";
    double rate;
    char extra[256];
    int n;
    if (cfg.mode == M_BULK) {
        rate = (double)bytes / (1024.0 * 1024.0) / cfg.secs;
        n = snprintf(extra, sizeof extra, "bytes=%llu mib_s=%.1f",
                     (unsigned long long)bytes, rate);
    } else {
        rate = (double)ops / cfg.secs;
        double p50 = hist_percentile_us(h, ops, 0.50);
        double p99 = hist_percentile_us(h, ops, 0.99);
        if (cfg.mode == M_UDP) {
            uint64_t sent = ops + lost;
            double loss = sent ? 100.0 * (double)lost / (double)sent : 0.0;
            n = snprintf(extra, sizeof extra,
                         "p50_us=%.1f p99_us=%.1f sent=%llu lost=%llu "
                         "late=%llu loss_pct=%.3f",
                         p50, p99, (unsigned long long)sent,
                         (unsigned long long)lost, (unsigned long long)late,
                         loss);
        } else {
            n = snprintf(extra, sizeof extra, "p50_us=%.1f p99_us=%.1f", p50,
                         p99);
        }
    }
    if (n < 0 || (size_t)n >= sizeof extra) {
        fprintf(stderr, "echobench: summary formatting failed\n");
        free(h);
        return ST_NETERR;
    }
    if (printf("mode=%s conns=%d size=%zu secs=%g ops=%llu rate=%.1f "
               "unit=%s %s status=%s\n",
               mode_names[cfg.mode], cfg.conns, cfg.size, cfg.secs,
               (unsigned long long)(cfg.mode == M_BULK ? bytes / cfg.size : ops),
               rate, mode_units[cfg.mode], extra, st) < 0 ||
        fflush(stdout) != 0) {
        free(h);
        return ST_NETERR;
    }
    if (cfg.verbose) {
        fprintf(stderr, "echobench: %s %s -> %.1f %s (%s)\n",
                mode_names[cfg.mode], cfg.host, rate, mode_units[cfg.mode],
                st);
    }
    free(h);
    return status;
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    resolve();
    raise_nofile();
    setup_signals();

    g_pat = malloc(2 * (size_t)PAT_LEN);
    struct worker *ws = calloc((size_t)cfg.conns, sizeof *ws);
    uint32_t *hists = calloc((size_t)cfg.conns * H_BUCKETS, sizeof *hists);
    if (g_pat == NULL || ws == NULL || hists == NULL) {
        fprintf(stderr, "echobench: out of memory\n");
        free(hists);
        free(ws);
        free(g_pat);
        return ST_NETERR;
    }
    uint64_t s = cfg.seed;
    for (size_t i = 0; i < PAT_LEN; i += 8) {
        uint64_t r = splitmix64(&s);
        for (size_t k = 0; k < 8 && i + k < PAT_LEN; k++) {
            g_pat[i + k] = (unsigned char)(r >> (8 * k));
        }
    }
    memcpy(g_pat + PAT_LEN, g_pat, PAT_LEN);

    void *(*fn)(void *) = cfg.mode == M_PINGPONG  ? pingpong_worker
                          : cfg.mode == M_CONNECT ? connect_worker
                          : cfg.mode == M_BULK    ? bulk_worker
                                                  : udp_worker;
    pthread_attr_t attr;
    int rc = pthread_attr_init(&attr);
    if (rc != 0) {
        die_rc("pthread_attr_init", rc);
    }
    rc = pthread_attr_setstacksize(&attr, (size_t)256 * 1024);
    if (rc != 0) {
        die_rc("pthread_attr_setstacksize", rc);
    }
    int started = 0;
    for (int i = 0; i < cfg.conns; i++) {
        ws[i].id = i;
        ws[i].fd = -1;
        uint64_t ws_seed = cfg.seed ^ ((uint64_t)(i + 1) * 0xd1342543de82ef95ull);
        ws[i].rng = splitmix64(&ws_seed);
        ws[i].hist = hists + (size_t)i * H_BUCKETS;
        atomic_init(&ws[i].bulk_sent, 0);
        atomic_init(&ws[i].bulk_wdone, false);
        rc = pthread_create(&ws[i].th, &attr, fn, &ws[i]);
        if (rc != 0) {
            fail(ST_NETERR, "pthread_create: %s", strerror(rc));
            break;
        }
        started++;
    }
    rc = pthread_attr_destroy(&attr);
    if (rc != 0) {
        die_rc("pthread_attr_destroy", rc);
    }

    /* Open the gate once every worker is set up (connected, where it
     * applies); the measured window starts now. */
    rc = pthread_mutex_lock(&gate_mu);
    if (rc != 0) {
        die_rc("pthread_mutex_lock", rc);
    }
    while (gate_ready < started) {
        rc = pthread_cond_wait(&gate_cv, &gate_mu);
        if (rc != 0) {
            die_rc("pthread_cond_wait", rc);
        }
    }
    uint64_t start = now_ns();
    atomic_store(&g_deadline_ns, start + (uint64_t)(cfg.secs * 1e9));
    gate_open = true;
    rc = pthread_cond_broadcast(&gate_cv);
    if (rc != 0) {
        die_rc("pthread_cond_broadcast", rc);
    }
    rc = pthread_mutex_unlock(&gate_mu);
    if (rc != 0) {
        die_rc("pthread_mutex_unlock", rc);
    }

    for (int i = 0; i < started; i++) {
        rc = pthread_join(ws[i].th, NULL);
        if (rc != 0) {
            die_rc("pthread_join", rc);
        }
    }

    int ret = report(ws, started);
    free(hists);
    free(ws);
    free(g_pat);
    return ret;
}
