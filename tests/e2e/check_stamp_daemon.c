/* SPDX-License-Identifier: MIT */
/*
 * check_stamp_daemon: echod as a STAMP reflector end to end, driven by the
 * tests' own Session-Sender (stamp_sender.c): unauthenticated and
 * authenticated, stateless and stateful, IPv4 and IPv6, TWAMP-Light
 * lengths, the TLVs echod supports and some it does not, each reflected
 * field checked; short packets and wrong HMACs dropped and counted; the
 * key file's permissions; the same ACL as echo; reload; and residence
 * times that stay honest while the UDP thread is busy or stopped.
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "echod/wire.h"

#include "harness.h"
#include "harness_check.h"
#include "stamp_sender.h"

#define SENT_TTL	77	/* what the sender's packets carry */

/* Start echod on 127.0.0.1 (and ::1 with v6) with STAMP on *sport. */
static void
stamp_start(struct daemon *d, int *sport, bool v6, const char *extra)
{
	*sport = harness_free_port(v6);
	ck_assert_int_gt(*sport, 0);
	ck_assert_msg(daemon_start(d, v6 ? 6 : 3, "listen = {\"127.0.0.1\"%s}\n"
	    "stamp = true\nstamp_port = %d\n%s", v6 ? ", \"::1\"" : "", *sport,
	    extra) == 0, "cannot start echod: %s", harness_error());
}

static int
sender_ok(int family, int port, int tos)
{
	int	 fd = sender_socket(family, port, SENT_TTL, tos);

	ck_assert_msg(fd != -1, "sender socket: %s", strerror(errno));
	return fd;
}

static void
probe_ok(int fd, struct probe *p, long long want_seq)
{
	const char *bad;

	ck_assert_msg(probe_run(fd, p, HARNESS_IO_MS) == 0, "%s",
	    harness_error());
	bad = probe_check(p, SENT_TTL, want_seq);
	ck_assert_msg(bad == NULL, "seq %u: %s", p->seq, bad);
}

/* No reply to p within a short wait. */
static void
no_reply(int fd, struct probe *p)
{
	ck_assert_int_eq(probe_send(fd, p), 0);
	ck_assert_msg(probe_recv(fd, p, 200) == -1, "a %zu-octet packet was "
	    "answered", p->sent);
}

static void
unauth_both(int family)
{
	struct daemon d = DAEMON_INIT;
	struct probe p = { .seq = 0xdeadbeef, .ssid = 0x4242 };
	int	 sport, fd;

	if (family == AF_INET6 && !harness_have_ipv6()) {
		test_skip("no ::1 here");
		return;
	}
	stamp_start(&d, &sport, family == AF_INET6, "");
	fd = sender_ok(family, sport, -1);
	probe_ok(fd, &p, -1);
	p.seq = 1;
	p.ssid = 0;
	probe_ok(fd, &p, -1);
	counter_wait_ok(&d, "stamp_reflected", 2);
	ck_assert_uint_eq(counter_ok(&d, "stamp_packets_in"), 2);
	/* Nothing reached the echo counters. */
	ck_assert_uint_eq(counter_ok(&d, "udp_datagrams_out"), 0);
	close(fd);
	stop_ok(&d, SIGTERM);
}

START_TEST(test_unauth_ipv4)
{
	unauth_both(AF_INET);
}
END_TEST

START_TEST(test_unauth_ipv6)
{
	unauth_both(AF_INET6);
}
END_TEST

/* Shorter than 41: no reply, counted; 41 to 43: their own length. */
START_TEST(test_lengths)
{
	struct daemon d = DAEMON_INIT;
	struct probe p = { .seq = 9 };
	int	 sport, fd;
	size_t	 len;

	stamp_start(&d, &sport, false, "");
	fd = sender_ok(AF_INET, sport, -1);
	for (len = 1; len <= 40; len += 8) {
		p.len = len;
		no_reply(fd, &p);
	}
	p.len = 40;
	no_reply(fd, &p);
	for (len = 41; len <= 45; len++) {
		p.len = len;
		probe_ok(fd, &p, -1);
	}
	counter_wait_ok(&d, "stamp_dropped_short", 6);
	counter_wait_ok(&d, "stamp_reflected", 5);
	close(fd);
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_stateful_sessions)
{
	struct daemon d = DAEMON_INIT;
	struct probe p = { .ssid = 7 };
	int	 sport, fd, fd2;
	long long i;

	stamp_start(&d, &sport, false, "stamp_mode = \"stateful\"\n");
	fd = sender_ok(AF_INET, sport, -1);
	fd2 = sender_ok(AF_INET, sport, -1);
	for (i = 0; i < 3; i++) {
		p.seq = (uint32_t)(1000 + 10 * i);	/* not the reflector's */
		probe_ok(fd, &p, i);
	}
	/* Another SSID, another source port: sessions of their own. */
	p.ssid = 8;
	probe_ok(fd, &p, 0);
	p.ssid = 7;
	probe_ok(fd2, &p, 0);
	probe_ok(fd, &p, 3);
	close(fd);
	close(fd2);
	stop_ok(&d, SIGTERM);
}
END_TEST

/*
 * The reflected Class of Service TLV at t, for a request sent with EF and
 * ECT(1) that asked for AF11: DSCP1 kept, DSCP2 and ECN as received, RP
 * 0, and the reply itself sent with AF11.
 */
static void
cos_ok(const struct probe *p, const uint8_t *t)
{
	ck_assert_uint_eq(t[0], 0);			/* understood */
	ck_assert_uint_eq(t[4] >> 2, 10);		/* DSCP1 kept */
	ck_assert_uint_eq((t[4] & 3) << 4 | t[5] >> 4, 46);	/* DSCP2 */
	ck_assert_uint_eq((t[5] >> 2) & 3, 1);		/* ECN */
	ck_assert_uint_eq(t[5] & 3, 0);			/* RP */
	ck_assert_int_eq(p->rep_tos >> 2, 10);		/* reply's DSCP */
}

/*
 * Every TLV echod supports, one it does not and a malformed one, sent
 * with DSCP EF and ECN 1: answered as RFC 8972 §4 says, the reply's DSCP
 * the one the CoS TLV asked for.
 */
START_TEST(test_tlvs)
{
	struct daemon d = DAEMON_INIT;
	struct probe p = { .seq = 5, .ssid = 3 };
	const uint8_t cos[4] = { 10 << 2, 0, 0, 0 };	/* DSCP1 AF11 */
	const uint8_t dm[12] = { 0, 0, 0, 42 };		/* S_TxC 42 */
	const uint8_t *t;
	const char *bad;
	int	 sport, fd;

	stamp_start(&d, &sport, false, "stamp_mode = \"stateful\"\n");
	fd = sender_ok(AF_INET, sport, 0xb9);		/* EF, ECT(1) */
	sender_tlv(&p, 1, "0123456789", 10);		/* Extra Padding */
	sender_tlv(&p, 3, NULL, 4);			/* Timestamp Info */
	sender_tlv(&p, 4, cos, 4);			/* Class of Service */
	sender_tlv(&p, 5, dm, 12);			/* Direct Measurement */
	sender_tlv(&p, 7, NULL, 16);			/* Follow-Up: no */
	sender_tlv(&p, 99, "xyz", 3);			/* unassigned */
	sender_tlv(&p, 4, "12345", 5);			/* malformed CoS */
	sender_tlv(&p, 3, NULL, 4);			/* after it */
	ck_assert_msg(probe_run(fd, &p, HARNESS_IO_MS) == 0, "%s",
	    harness_error());
	bad = probe_check(&p, SENT_TTL, 0);
	ck_assert_msg(bad == NULL, "%s", bad);
	t = p.rep + 44;
	ck_assert_uint_eq(t[0], 0);			/* padding */
	ck_assert_mem_eq(t + 4, "0123456789", 10);
	t += 14;
	ck_assert_uint_eq(t[0], 0);			/* timestamp info */
	ck_assert(t[4] == 1 || t[4] == 5);		/* NTP, or local */
	ck_assert_uint_eq(t[5], 2);			/* SW local */
	ck_assert_uint_eq(t[6], t[4]);
	ck_assert_uint_eq(t[7], 2);
	t += 8;
	cos_ok(&p, t);
	t += 8;
	ck_assert_uint_eq(t[0], 0);			/* direct measurement */
	ck_assert_uint_eq(wire_get32(t + 4), 42);
	ck_assert_uint_eq(wire_get32(t + 8), 1);		/* R_RxC */
	ck_assert_uint_eq(wire_get32(t + 12), 1);		/* R_TxC */
	t += 16;
	ck_assert_uint_eq(t[0], 0x80);			/* follow-up: U */
	t += 20;
	ck_assert_uint_eq(t[0], 0x80);			/* 99: U */
	ck_assert_mem_eq(t + 4, "xyz", 3);
	t += 7;
	ck_assert_uint_eq(t[0], 0x40);			/* M */
	ck_assert_uint_eq(t[9], 0x80);			/* after: as sent */
	counter_wait_ok(&d, "stamp_tlv_malformed", 1);
	ck_assert_uint_eq(counter_ok(&d, "stamp_tlv_unknown"), 2);
	close(fd);
	stop_ok(&d, SIGTERM);
}
END_TEST

/* Write a key file of mode; its path in buf. */
static void
write_key(char *buf, size_t size, const char *key, mode_t mode)
{
	harness_tmppath(buf, size, "stamp.key");
	ck_assert_int_eq(harness_write_file(buf, "%s\n", key), 0);
	ck_assert_int_eq(chmod(buf, mode), 0);
}

START_TEST(test_authenticated)
{
	static const char key[] = "a shared secret of 32 octets....";
	struct daemon d = DAEMON_INIT;
	struct probe p = { .seq = 11, .ssid = 0x0102,
	    .key = (const uint8_t *)key, .keylen = 32 };
	char	 path[4096], extra[4200];
	int	 sport, fd;

	write_key(path, sizeof(path), key, 0600);
	snprintf(extra, sizeof(extra), "stamp_key_file = \"%s\"\n", path);
	stamp_start(&d, &sport, false, extra);
	fd = sender_ok(AF_INET, sport, -1);
	probe_ok(fd, &p, -1);
	/* TLVs with an HMAC TLV last: verified, answered, re-signed. */
	sender_tlv(&p, 3, NULL, 4);
	sender_tlv(&p, 8, NULL, 16);
	probe_ok(fd, &p, -1);
	ck_assert_uint_eq(p.rep[112], 0);
	ck_assert_uint_eq(p.rep[116] == 1 || p.rep[116] == 5, 1);
	{
		uint8_t	 mac[16];

		sender_hmac(p.key, p.keylen, p.rep, 4, p.rep + 112, 8, mac);
		ck_assert_mem_eq(p.rep + 124, mac, 16);
	}
	/* A wrong base HMAC, and an unauthenticated packet: dropped. */
	p.tlvlen = 0;
	p.bad_hmac = true;
	no_reply(fd, &p);
	counter_wait_ok(&d, "stamp_dropped_auth", 1);
	p.bad_hmac = false;
	p.len = 0;
	p.keylen = 0;
	no_reply(fd, &p);
	counter_wait_ok(&d, "stamp_dropped_short", 1);
	ck_assert_uint_eq(counter_ok(&d, "stamp_reflected"), 2);
	close(fd);
	stop_ok(&d, SIGTERM);
}
END_TEST

/* A key others may read: echod does not start, and says why and where. */
START_TEST(test_key_file_mode)
{
	struct daemon d = DAEMON_INIT;
	char	 path[4096], conf[4096];
	const char *args[] = { "-t", "-c", conf, NULL };

	write_key(path, sizeof(path), "0123456789abcdef0123", 0644);
	harness_tmppath(conf, sizeof(conf), "stamp.conf");
	ck_assert_int_eq(harness_write_file(conf, "stamp = true\n"
	    "stamp_key_file = \"%s\"\n", path), 0);
	ck_assert_int_eq(daemon_run(&d, args, HARNESS_IO_MS), 78);
	log_has(&d, "stamp.conf:2: stamp_key_file '%s': group or other users "
	    "may read it (mode 0644)", path);
	daemon_free(&d);
}
END_TEST

/* The same allow/deny as echo, counted in the same rows. */
START_TEST(test_acl)
{
	struct daemon d = DAEMON_INIT;
	struct probe p = { .seq = 1 };
	int	 sport, fd;

	stamp_start(&d, &sport, false, "deny = {\"127.0.0.0/8\"}\n");
	fd = sender_ok(AF_INET, sport, -1);
	no_reply(fd, &p);
	counter_wait_ok(&d, "udp_dropped_acl", 1);
	ck_assert_uint_eq(counter_ok(&d, "stamp_reflected"), 0);
	close(fd);
	stop_ok(&d, SIGTERM);
}
END_TEST

/* stamp on by reload, then stateful by reload: no restart. */
START_TEST(test_reload)
{
	struct daemon d = DAEMON_INIT;
	struct probe p = { .seq = 500 };
	char	 body[256];
	int	 sport = harness_free_port(false), fd;

	start(&d, "");
	snprintf(body, sizeof(body), CONF_LOCAL "stamp = true\n"
	    "stamp_port = %d\n", sport);
	reload(&d, "applied", d.port, body);
	log_has(&d, "listening on stamp 127.0.0.1:%d", sport);
	fd = sender_ok(AF_INET, sport, -1);
	probe_ok(fd, &p, -1);
	snprintf(body, sizeof(body), CONF_LOCAL "stamp = true\n"
	    "stamp_port = %d\nstamp_mode = \"stateful\"\n", sport);
	reload(&d, "applied", d.port, body);
	probe_ok(fd, &p, 0);
	probe_ok(fd, &p, 1);
	close(fd);
	stop_ok(&d, SIGTERM);
}
END_TEST

/*
 * Residence time is honest: a packet that waits while the daemon is
 * stopped has a T2 from before the stop (the kernel's) and a T3 from
 * after it, so T3 - T2 covers the wait.
 */
START_TEST(test_residence_includes_wait)
{
	struct daemon d = DAEMON_INIT;
	struct probe p = { .seq = 1 };
	int	 sport, fd;
	double	 res;

	stamp_start(&d, &sport, false, "");
	fd = sender_ok(AF_INET, sport, -1);
	probe_ok(fd, &p, -1);			/* warm */
	ck_assert_int_eq(daemon_signal(&d, SIGSTOP), 0);
	ck_assert_msg(proc_wait_stopped(d.pid, HARNESS_IO_MS) == 0, "%s",
	    harness_error());
	ck_assert_int_eq(probe_send(fd, &p), 0);
	usleep(300 * 1000);
	ck_assert_int_eq(daemon_signal(&d, SIGCONT), 0);
	ck_assert_msg(probe_recv(fd, &p, HARNESS_IO_MS) == 0, "%s",
	    harness_error());
	ck_assert_msg(probe_check(&p, SENT_TTL, -1) == NULL, "%s",
	    probe_check(&p, SENT_TTL, -1));
	res = ntp_us(probe_t3(&p), probe_t2(&p));
	ck_assert_msg(res >= 250000, "residence %.0f us for a packet that "
	    "waited 300 ms", res);
	/* And the path (RTT less residence) stays small. */
	ck_assert_msg(ntp_us(p.t4, p.t1) - res < 50000, "path %.0f us",
	    ntp_us(p.t4, p.t1) - res);
	close(fd);
	stop_ok(&d, SIGTERM);
}
END_TEST

/*
 * Mixed load: a 64-byte echo flood on the same daemon while the sender
 * measures.  Every STAMP reply still checks out, and what the sender sees
 * beyond the reflector's residence (the path: loopback both ways) stays
 * small at the median: the time a packet waited behind the flood is in
 * T3 - T2 (the tail is the host's scheduling, so only the median is held
 * to a bound; test_residence_includes_wait is the strict check).
 */
static int
cmp_double(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

START_TEST(test_mixed_load)
{
	enum { PROBES = 200, FLOOD_PER_PROBE = 64 };
	static double res[PROBES], path[PROBES];
	struct daemon d = DAEMON_INIT;
	struct probe p = { .ssid = 1 };
	char	 payload[64];
	int	 sport, fd, flood, i, j;

	stamp_start(&d, &sport, false, "udp_rate_per_source = 0\n");
	fd = sender_ok(AF_INET, sport, -1);
	flood = udp_connect_ok(&d, AF_INET);
	memset(payload, 'f', sizeof(payload));
	for (i = 0; i < PROBES; i++) {
		for (j = 0; j < FLOOD_PER_PROBE; j++)
			(void)send(flood, payload, sizeof(payload),
			    MSG_DONTWAIT);
		p.seq = (uint32_t)i;
		probe_ok(fd, &p, -1);
		res[i] = ntp_us(probe_t3(&p), probe_t2(&p));
		path[i] = ntp_us(p.t4, p.t1) - res[i];
		ck_assert_msg(res[i] >= 0, "negative residence %.1f", res[i]);
	}
	qsort(res, PROBES, sizeof(res[0]), cmp_double);
	qsort(path, PROBES, sizeof(path[0]), cmp_double);
	printf("stamp mixed load: residence p50 %.1f max %.1f us, path p50 "
	    "%.1f max %.1f us\n", res[PROBES / 2], res[PROBES - 1],
	    path[PROBES / 2], path[PROBES - 1]);
	ck_assert_msg(path[PROBES / 2] < 5000, "path p50 %.0f us: waiting "
	    "is not in T3 - T2", path[PROBES / 2]);
	ck_assert_uint_gt(counter_ok(&d, "udp_datagrams_out"), 0);
	counter_wait_ok(&d, "stamp_reflected", PROBES);
	close(flood);
	close(fd);
	stop_ok(&d, SIGTERM);
}
END_TEST

/*
 * Socket activation: a datagram socket systemd passes on stamp_port is the
 * reflector's (echod.socket's ListenDatagram=862), the other one echo's.
 */
#ifdef ECHOD_HAVE_SYSTEMD
/*
 * Start echod with d's passed sockets, STAMP on sport and extra in its
 * config, and wait until it took all of them.
 */
static void
spawn_activated(struct daemon *d, const char *extra, int sport)
{
	const char *args[] = { "-c", NULL, NULL };
	char	 conf[4096];

	harness_tmppath(conf, sizeof(conf), "activated.conf");
	ck_assert_int_eq(harness_write_file(conf, "%sstamp = true\n"
	    "stamp_port = %d\n", extra, sport), 0);
	args[1] = conf;
	ck_assert_msg(daemon_spawn(d, args) == 0, "%s", harness_error());
	ck_assert_msg(daemon_wait_log(d, "(socket activation)", d->npass,
	    HARNESS_IO_MS) == 0, "%s", daemon_log_tail(d));
}

START_TEST(test_socket_activation)
{
	struct daemon d = DAEMON_INIT;
	struct probe p = { .seq = 77 };
	int	 port = harness_free_port(false), sport = harness_free_port(false);
	int	 fd;

	ck_assert(port > 0 && sport > 0 && port != sport);
	d.pass_fds[0] = harness_occupy(AF_INET, SOCK_DGRAM, port);
	d.pass_fds[1] = harness_occupy(AF_INET, SOCK_DGRAM, sport);
	ck_assert_msg(d.pass_fds[0] >= 0 && d.pass_fds[1] >= 0, "%s",
	    harness_error());
	d.npass = 2;
	spawn_activated(&d, "", sport);
	log_has(&d, "listening on stamp 127.0.0.1:%d (socket activation)",
	    sport);
	log_has(&d, "listening on udp 127.0.0.1:%d (socket activation)", port);
	fd = sender_ok(AF_INET, sport, -1);
	probe_ok(fd, &p, -1);
	close(fd);
	stop_ok(&d, SIGTERM);
}
END_TEST

/*
 * A dual-stack socket from systemd (ListenDatagram=862 on [::], IPv6 with
 * IPV6_V6ONLY off) and an IPv4 sender: the reply still carries the DSCP
 * the Class of Service TLV asked for, and the TLV the DSCP and ECN the
 * request came with.  The socket is bound to ::ffff:127.0.0.1, the
 * loopback's share of [::], so the test stays on loopback.
 */
static int
dual_stack_socket(int port)
{
	struct sockaddr_in6 sin6 = {
		.sin6_family = AF_INET6,
		.sin6_port = htons((uint16_t)port),
	};
	int	 fd, off = 0;

	ck_assert_int_eq(inet_pton(AF_INET6, "::ffff:127.0.0.1",
	    &sin6.sin6_addr), 1);
	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off,
	    sizeof(off)), 0);
	ck_assert_msg(bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) == 0,
	    "bind [::ffff:127.0.0.1]:%d: %s", port, strerror(errno));
	return fd;
}

START_TEST(test_cos_dual_stack)
{
	struct daemon d = DAEMON_INIT;
	struct probe p = { .seq = 9, .ssid = 1 };
	const uint8_t cos[4] = { 10 << 2, 0, 0, 0 };	/* DSCP1 AF11 */
	const char *bad;
	int	 sport = harness_free_port(false), fd;

	ck_assert(sport > 0);
	d.pass_fds[0] = dual_stack_socket(sport);
	d.npass = 1;
	spawn_activated(&d, "udp = false\ntcp = false\n", sport);
	fd = sender_ok(AF_INET, sport, 0xb9);		/* EF, ECT(1) */
	sender_tlv(&p, 4, cos, 4);			/* Class of Service */
	ck_assert_msg(probe_run(fd, &p, HARNESS_IO_MS) == 0, "%s",
	    harness_error());
	bad = probe_check(&p, SENT_TTL, -1);
	ck_assert_msg(bad == NULL, "%s", bad);
	cos_ok(&p, p.rep + 44);
	close(fd);
	stop_ok(&d, SIGTERM);
}
END_TEST
#endif

static Suite *
stamp_daemon_suite(void)
{
	Suite	*s = suite_create("stamp_daemon");
	TCase	*tc = tcase_new(s, "reflect", 60);

	tcase_add_test(tc, test_unauth_ipv4);
	tcase_add_test(tc, test_unauth_ipv6);
	tcase_add_test(tc, test_lengths);
	tcase_add_test(tc, test_stateful_sessions);
	tcase_add_test(tc, test_tlvs);
	tc = tcase_new(s, "auth", 60);
	tcase_add_test(tc, test_authenticated);
	tcase_add_test(tc, test_key_file_mode);
	tc = tcase_new(s, "policy", 60);
	tcase_add_test(tc, test_acl);
	tcase_add_test(tc, test_reload);
#ifdef ECHOD_HAVE_SYSTEMD
	/* Without libsystemd there is no socket activation to test. */
	tcase_add_test(tc, test_socket_activation);
	tcase_add_test(tc, test_cos_dual_stack);
#endif
	tc = tcase_new(s, "residence", 120);
	tcase_add_test(tc, test_residence_includes_wait);
	tcase_add_test(tc, test_mixed_load);
	return s;
}

int
main(void)
{
	return harness_main(stamp_daemon_suite(), "check_stamp_daemon");
}
