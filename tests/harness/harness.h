/* SPDX-License-Identifier: MIT */
#ifndef ECHOD_HARNESS_H
#define ECHOD_HARNESS_H

#include <sys/types.h>

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The end-to-end test harness: runs build/echod as a child process with
 * its stderr and stdout captured in files, picks free ports, writes temp
 * configs, and talks to the daemon over loopback sockets.  Nothing here
 * calls Check: helpers return 0 (or a descriptor) on success and -1 on
 * failure, and harness_error() then says what went wrong, ready for a
 * ck_assert_msg().  Every wait is bounded.
 */

/* Built with ASan or TSan: their runtime changes sizes and speeds. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define HARNESS_SANITIZED	true
#else
#define HARNESS_SANITIZED	false
#endif

/* Failure bound for single I/O steps: generous, so sanitizers fit. */
#define HARNESS_IO_MS		10000
/* A UDP datagram payload's largest size over IPv4. */
#define HARNESS_UDP_MAX4	65507

/* Sockets a test can pass to echod by socket activation. */
#define HARNESS_MAX_PASS	8

/* One echod process; declare with DAEMON_INIT, release with daemon_free(). */
struct daemon {
	pid_t	 pid;			/* -1 once reaped */
	int	 status;		/* wait(2) status once reaped */
	int	 port;			/* the port it was given */
	char	 conf[PATH_MAX];	/* config file, "" if none */
	char	 errpath[PATH_MAX];	/* its stderr */
	char	 outpath[PATH_MAX];	/* its stdout */
	char	*log;			/* last daemon_log() */
	char	*out;			/* last daemon_stdout() */
	/* Sockets to hand over as systemd would (fd 3..., LISTEN_FDS). */
	int	 pass_fds[HARNESS_MAX_PASS];
	int	 npass;
	/* Run in the child just before exec (limits, credentials): 0 or -1. */
	int	(*pre_exec)(void *arg);
	void	*pre_exec_arg;
};
#define DAEMON_INIT	{ .pid = -1 }

/* ---- harness.c: the error string, the clock, temp files, data ---- */

/* Describes the last failure of a harness function. */
const char *harness_error(void);
/* Create the temp directory; call once in main() before running tests. */
int	harness_init(void);
/* Remove the temp directory; call once in main() after the tests. */
void	harness_fini(void);
/* Kill (SIGKILL) and reap daemons still running, remove temp files. */
void	harness_teardown(void);
/* Milliseconds on the monotonic clock. */
long long harness_now_ms(void);
/* A path name in the temp directory (not created). */
void	harness_tmppath(char *buf, size_t size, const char *name);
/* Write a file from a format; 0 or -1. */
int	harness_write_file(const char *path, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* Next number of a xorshift64* generator; state must not be 0. */
uint64_t harness_rand(uint64_t *state);
/* Fill buf with pseudo-random bytes from seed (NULs included). */
void	harness_fill(void *buf, size_t len, uint64_t seed);

/* ---- harness_daemon.c: the daemon process and its log ---- */

/*
 * Run ECHOD_BIN with args (NULL-terminated, without argv[0]).  The child
 * dies with the test (PR_SET_PDEATHSIG).  0, or -1.
 */
int	daemon_spawn(struct daemon *d, const char *const args[]);
/*
 * Write "port = <free port>\n" plus the config text from fmt, start echod
 * -c on it, and wait until it logged nsock "listening on" lines.  Retries
 * with another port when the port was taken meanwhile (exit 71).
 */
int	daemon_start(struct daemon *d, int nsock, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* As daemon_start() on a given port, without retries. */
int	daemon_start_on(struct daemon *d, int port, int nsock,
	    const char *body);
/* Spawn with args and wait for it to exit; its exit code, or -1. */
int	daemon_run(struct daemon *d, const char *const args[],
	    int timeout_ms);
/*
 * Wait until the daemon's stderr holds needle at least count times.  0, or
 * -1 on timeout or when the daemon exited first.
 */
int	daemon_wait_log(struct daemon *d, const char *needle, int count,
	    int timeout_ms);
/* Occurrences of needle in the daemon's stderr so far. */
int	daemon_log_count(struct daemon *d, const char *needle);
/* Its whole stderr so far (owned by d, valid until the next call). */
const char *daemon_log(struct daemon *d);
/* The last 1500 bytes of its stderr, for failure messages. */
const char *daemon_log_tail(struct daemon *d);
/* Its whole stdout so far (owned by d). */
const char *daemon_stdout(struct daemon *d);
/* Wait for it to exit; 0 once reaped, -1 on timeout. */
int	daemon_wait_exit(struct daemon *d, int timeout_ms);
/* Its exit code once reaped, 128 + signal if killed, -1 if running. */
int	daemon_exit_code(const struct daemon *d);
/* True while it runs (not exited). */
bool	daemon_alive(struct daemon *d);
/* Send sig; 0 or -1 (also when it already exited). */
int	daemon_signal(struct daemon *d, int sig);
/* SIGKILL and reap if still running; free the buffers. */
void	daemon_free(struct daemon *d);

/* ---- harness_stats.c: the daemon's counters ---- */

/*
 * Send SIGUSR1, wait for the new "stats:" line and copy it to buf.
 * 0, or -1.
 */
int	daemon_stats(struct daemon *d, char *buf, size_t size);
/* Counter name from a fresh stats line ("name=value ..."); 0, or -1. */
int	daemon_counter(struct daemon *d, const char *name,
	    unsigned long long *v);
/* Poll the stats until counter name equals want.  0, or -1 on timeout. */
int	daemon_wait_counter(struct daemon *d, const char *name,
	    unsigned long long want, int timeout_ms);
/* daemon_wait_counter() on tcp_clients. */
int	daemon_wait_clients(struct daemon *d, unsigned n, int timeout_ms);

/* ---- harness_net.c: ports ---- */

/*
 * A port free on 127.0.0.1 for both TCP and UDP (and on ::1 when v6), found
 * by binding port 0.  It may be taken again before echod binds it, so
 * daemon_start() retries on exit 71.  The port, or -1.
 */
int	harness_free_port(bool v6);
/* True when TCP and UDP sockets can be bound to [::1]. */
bool	harness_have_ipv6(void);
/* A socket of type bound (and listening, for TCP) on the loopback. */
int	harness_occupy(int family, int type, int port);

/* ---- harness_tcp.c: TCP clients ---- */

/*
 * Client sockets (TCP here, UDP below) are non-blocking and CLOEXEC; every
 * helper waits with poll(2) up to a deadline.  family is AF_INET
 * (127.0.0.1) or AF_INET6 (::1).
 */
int	tcp_connect(int family, int port);
/* A TCP connection to 127.0.0.1:port from local address src (127.0.0.2...). */
int	tcp_connect_src(const char *src, int port);
/* Abortive close: SO_LINGER 0, so the peer gets a reset. */
void	tcp_reset(int fd);
/* True when TCP_REPAIR works here (it needs CAP_NET_ADMIN). */
bool	harness_can_repair(void);
/* Close fd without telling the peer anything (TCP_REPAIR).  0, or -1. */
int	tcp_vanish(int fd);
/* Send all of buf. 0, or -1. */
int	sock_send_all(int fd, const void *buf, size_t len, int timeout_ms);
/*
 * Wait until the peer closed: EOF or reset with no data before.  0, or -1
 * (data arrived, or timeout).
 */
int	sock_wait_closed(int fd, int timeout_ms);
/* Send buf, read it back, compare.  0, or -1. */
int	tcp_echo(int fd, const void *buf, size_t len);

/* ---- harness_udp.c: UDP clients ---- */

/* A UDP socket on the loopback of family, connected to port. */
int	udp_connect(int family, int port);
/* As udp_connect(), bound to local port lport first. */
int	udp_connect_from(int family, int lport, int port);
/* A UDP socket bound to src:lport (0: any), connected to 127.0.0.1:port. */
int	udp_connect_src(const char *src, int lport, int port);
/*
 * A UDP socket connected to 127.0.0.1:port from a free port below 1024
 * (what udp_loop_guard drops; binding one needs root), or -1.
 */
int	udp_low_port(int port);
/*
 * Send one UDP datagram with a forged source src:sport to dst:dport through
 * a raw socket (needs CAP_NET_RAW).  0, or -1.
 */
int	udp_spoof(const char *src, int sport, const char *dst, int dport,
	    const void *payload, size_t len);
/* Send one datagram of len bytes and expect it back whole.  0, or -1. */
int	udp_echo(int fd, const void *buf, size_t len);
/* As udp_echo(), waiting up to timeout_ms for the reply. */
int	udp_echo_wait(int fd, const void *buf, size_t len, int timeout_ms);
/*
 * As udp_echo(), sending again up to tries times (500 ms apart): where
 * loss is legitimate, as right after a flood.  A late reply to an
 * earlier try is the same payload, so it counts.
 */
int	udp_echo_retry(int fd, const void *buf, size_t len, int tries);
/* Receive one datagram into buf (size 64 KiB); its length, or -1. */
ssize_t	udp_recv(int fd, void *buf, size_t size, int timeout_ms);

/* ---- harness_notify.c: systemd's notification socket ---- */

/* A socket at path standing in for systemd's, named in NOTIFY_SOCKET. */
int	notify_listen(const char *path);
/* notify_listen() at notify.sock in the temp directory (harness.c). */
int	notify_listen_tmp(void);
/*
 * Read notifications until one contains want; copy it to msg.  0, or -1
 * after timeout_ms without it.
 */
int	notify_await(int fd, const char *want, char *msg, size_t size,
	    int timeout_ms);

/* ---- harness_proc.c: what /proc says ---- */

/* Descriptors and threads of a process, from /proc; -1 on error. */
int	proc_fd_count(pid_t pid);
int	proc_thread_count(pid_t pid);
/* A number from /proc/pid/status ("VmRSS", "VmSize": in kB); -1. */
long long proc_status(pid_t pid, const char *field);
/*
 * Wait until every thread of pid is stopped (after SIGSTOP, which kill(2)
 * only queues).  0, or -1 on timeout.
 */
int	proc_wait_stopped(pid_t pid, int timeout_ms);
/* CPU time (utime + stime, in clock ticks) pid has used; -1. */
long long proc_cpu_ticks(pid_t pid);
/*
 * Wait up to timeout_ms until every thread of pid sleeps (state S: a client
 * thread back in recv(), the loops in poll); 0, or -1 (harness_error()).
 */
int	proc_wait_asleep(pid_t pid, int timeout_ms);
/*
 * Return once CLOCK_MONOTONIC_COARSE (the daemon's clock for silences) has
 * advanced two ticks: what happened before is older to the daemon.
 */
void	coarse_clock_passes(void);
/* The value of name in the environment pid was exec'd with; 0, or -1. */
int	proc_environ(pid_t pid, const char *name, char *buf, size_t size);
/*
 * pid's anonymous read-write mappings of exactly size bytes (a thread
 * stack): how many have one 4 KiB page resident, how many more; 0, or -1.
 */
int	proc_anon_rss(pid_t pid, size_t size, unsigned *one_page,
	    unsigned *more);

/* Sockets on local TCP port in state st (6: TIME_WAIT), from /proc. */
int	harness_tcp_state_count(int port, int st);
/*
 * The kernel timer of the server's end of IPv4 client socket fd, from
 * /proc/net/tcp: timer 2 is keepalive, when its expiry in clock ticks
 * (USER_HZ).  0, or -1.
 */
int	harness_tcp_peer_timer(int fd, int server_port, unsigned *timer,
	    unsigned long *when);

/* ---- harness_crowd.c: many TCP clients at once ---- */

/*
 * Many TCP clients at once, driven by one poll(2) loop: each sends data
 * while reading the echo and checks it byte for byte as it arrives.  With
 * shut_wr it half-closes once all is sent and wants EOF after the echo;
 * with reset_at > 0 it resets (and closes, fd = -1) once that much is back.
 */
struct echo_job {
	int		 fd;
	const unsigned char *data;
	size_t		 len;
	bool		 shut_wr;
	size_t		 reset_at;
	size_t		 sent;		/* progress, set by echo_run() */
	size_t		 rcvd;
	bool		 done;
	bool		 failed;
	char		 why[128];	/* what went wrong, if failed */
};
/* Run jobs to completion; the number that failed. */
size_t	echo_run(struct echo_job *jobs, size_t n, int timeout_ms);

#endif /* ECHOD_HARNESS_H */
