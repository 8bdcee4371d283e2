/* SPDX-License-Identifier: MIT */
/*
 * The state behind the abuse limits: the access list and the rate-limit
 * tables.  Allocated when a config asks for them (never on a hot path),
 * kept across reloads while their size stays, freed when no longer lent.
 */

#include <sys/random.h>

#include <errno.h>
#include <string.h>

#include "echod/acl.h"
#include "echod/policy.h"
#include "echod/log.h"
#include "echod/net.h"
#include "echod/ratelimit.h"

/* Sources tracked for connect_rate_per_source: about 650 KiB. */
#define TCP_RATE_ENTRIES	16384

int
policy_init(struct policy *g)
{
	uint8_t	 secret[16];
	ssize_t	 n;

	memset(g, 0, sizeof(*g));
	do
		n = getrandom(secret, sizeof(secret), 0);
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)sizeof(secret)) {
		log_err("getrandom: cannot seed the rate-limit tables");
		return -1;
	}
	ipaddr_hash_init(&g->hk, secret);
	return 0;
}

int
policy_prepare(const struct policy *cur, const struct echod_config *cfg,
    struct policy *next)
{
	*next = (struct policy){ .hk = cur->hk };
	if (cfg->allow.n + cfg->deny.n > 0 && (next->acl = acl_build(
	    cfg->allow.v, cfg->allow.n, cfg->deny.v, cfg->deny.n)) == NULL) {
		log_err("cannot build the allow/deny list");
		goto fail;
	}
	/* The balancers: an allow-only list, so the rest is "not one". */
	if (cfg->proxy_protocol && cfg->proxy_from.n > 0 &&
	    (next->proxy_from = acl_build(cfg->proxy_from.v,
	    cfg->proxy_from.n, NULL, 0)) == NULL) {
		log_err("cannot build the proxy_from list");
		goto fail;
	}
	if (cfg->udp_rate_per_source > 0) {
		next->udp_rate_size = (size_t)cfg->udp_rate_table_size;
		if (cur->udp_rate != NULL &&
		    cur->udp_rate_size == next->udp_rate_size)
			next->udp_rate = cur->udp_rate;
		else if ((next->udp_rate = ratelimit_new(next->udp_rate_size,
		    &cur->hk)) == NULL) {
			log_err("cannot allocate the UDP rate-limit table "
			    "(udp_rate_table_size %d)", cfg->udp_rate_table_size);
			goto fail;
		}
	}
	if (cfg->connect_rate_per_source > 0) {
		if (cur->tcp_rate != NULL)
			next->tcp_rate = cur->tcp_rate;
		else if ((next->tcp_rate = ratelimit_new(TCP_RATE_ENTRIES,
		    &cur->hk)) == NULL) {
			log_err("cannot allocate the connect-rate table");
			goto fail;
		}
	}
	return 0;
fail:
	policy_abort(cur, next);
	return -1;
}

void
policy_abort(const struct policy *cur, struct policy *next)
{
	acl_free(next->acl);
	acl_free(next->proxy_from);
	if (next->udp_rate != cur->udp_rate)
		ratelimit_free(next->udp_rate);
	if (next->tcp_rate != cur->tcp_rate)
		ratelimit_free(next->tcp_rate);
	*next = (struct policy){ .hk = cur->hk };
}

void
policy_commit(struct policy *cur, const struct policy *next)
{
	acl_free(cur->acl);
	acl_free(cur->proxy_from);
	if (cur->udp_rate != next->udp_rate)
		ratelimit_free(cur->udp_rate);
	if (cur->tcp_rate != next->tcp_rate)
		ratelimit_free(cur->tcp_rate);
	*cur = *next;
}

void
policy_free(struct policy *g)
{
	acl_free(g->acl);
	acl_free(g->proxy_from);
	ratelimit_free(g->udp_rate);
	ratelimit_free(g->tcp_rate);
	*g = (struct policy){ .hk = g->hk };
}

void
policy_udp(const struct policy *g, const struct echod_config *cfg,
    const struct listeners *ls, struct udp_policy *p)
{
	size_t	 i;

	memset(p, 0, sizeof(*p));
	p->loop_guard = cfg->udp_loop_guard;
	loopguard_init(&p->lg);
	/* FreeBSD's check_loop: a datagram from our own port is a loop. */
	for (i = 0; i < ls->nudp; i++)
		(void)loopguard_add_port(&p->lg, net_addr_port(
		    (const struct sockaddr *)&ls->udp[i].addr));
	p->acl = g->acl;
	p->rate = g->udp_rate;
	p->rate_per_s = (uint32_t)cfg->udp_rate_per_source;
	p->burst = (uint32_t)cfg->udp_rate_burst;
	p->prefix_v4 = cfg->udp_prefix_v4;
	p->prefix_v6 = cfg->udp_prefix_v6;
	p->stamp.stateful = cfg->stamp_stateful;
	p->stamp.key = cfg->stamp_key;
}
