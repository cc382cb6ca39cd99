/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * rrl.h: response rate limiting for the replies santa_xdp sends, with the semantics of BIND
 * 9.18's rate-limit {} (lib/dns/rrl.c, ns/query.c), so that the cache does not turn the
 * server into a reflection amplifier that BIND's own RRL can no longer see.
 *
 * What is implemented, as BIND does it:
 *  - A token bucket per (client netblock, response kind, response identity). The netblock is
 *    the source address masked to ipv4-prefix-length / ipv6-prefix-length. The identity is
 *    computed by user space per cache entry (santa_value.rrl_kind, rrl_id): qname+qtype+qclass
 *    for answers; for NXDOMAIN the zone (SOA owner), so random-subdomain floods share one
 *    bucket; qname+qclass for NODATA and the delegation point for referrals; nothing for errors.
 *  - Time is whole seconds. A bucket is credited rate * (elapsed seconds), capped at rate; a
 *    bucket idle for more than `window` seconds starts full again; a new bucket starts full.
 *    Each reply debits one token; at zero or below the reply is limited, and the balance is
 *    floored at -window * rate, so a client that keeps flooding stays limited for up to
 *    `window` seconds after it slows down.
 *  - A limited reply is dropped, except that with slip N the first limited reply, and then
 *    every Nth, "slips": it is answered truncated (TC=1, no records but the OPT) so a real
 *    client retries over TCP, which is never limited. slip 0 never slips; slip 1 always does.
 *    A slip has AA set (BIND slips before it knows the answer is, say, a referral) and keeps
 *    NXDOMAIN as its rcode; any other slip is NOERROR. To a client that sent a
 *    DNS cookie (WANTCOOKIE) the slip is BADCOOKIE with a fresh server cookie instead of TC.
 *    Errors never slip, and neither does all-per-second.
 *  - A rate of 0 for a kind means that kind is not limited. all-per-second adds a second
 *    bucket per netblock that every reply also debits; when it is exhausted the reply drops.
 *  - exempt-clients (first match wins, "!" negates) and queries with a valid server cookie
 *    (HAVECOOKIE; checked by the caller) are never limited. log-only counts what would be
 *    limited and answers everything.
 *
 * Where this deviates:
 *  - The buckets live in one LRU map shared by all CPUs and are updated without a lock: two
 *    CPUs debiting the same bucket in the same instant can lose one debit. BIND serialises.
 *  - max-table-size / min-table-size do not size the map (its size is fixed at load); under
 *    pressure the LRU evicts the least recently used bucket, which then starts full, where
 *    BIND prefers to recycle buckets that are not currently limiting.
 *  - qps-scale is not implemented (the sidecar refuses a configuration that sets it).
 *  - Identities are 32-bit hashes computed by the sidecar (BIND hashes the name too): two
 *    names colliding share a bucket, which can only limit more, never less.
 *  - Wildcard answers are keyed on the query name, not the wildcard's parent as BIND keys
 *    them (a response does not say which wildcard produced it). A flood spread over many
 *    names under one wildcard therefore gets a bucket per name, but only names hot enough to
 *    be cached are answered here; the rest reach BIND and its own limiter.
 *  - Only mode "on" limits: dry-run passes every query to BIND, whose RRL then applies.
 *  - These buckets are not BIND's: replies to one identity that come partly from XDP and
 *    partly from BIND (e.g. the DO=1 variant cached, the DO=0 one not) are limited by each
 *    separately, so such a client can get up to twice the rate (all-per-second likewise).
 *
 * Two entry points: santa_rrl_config_on() says whether limiting is on at all (the caller skips
 * the rest when it is off), and santa_rrl() decides one reply, once it is certain and before it
 * is written.
 */
#ifndef SANTA_RRL_H
#define SANTA_RRL_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "santa_abi.h"
#include "address_match.h"
#include "santa_maps.bpf.h" /* santa_rrl_config, santa_rrl_buckets */


enum santa_rrl_verdict {
	SANTA_RRL_ALLOW = 0,
	SANTA_RRL_DROP,
	SANTA_RRL_SLIP,
	SANTA_RRL_WOULD_LIMIT, /* log-only: answer, but count it */
};

struct santa_rrl_input {
	const __u32 *v6_src; /* the client's IPv6 address (4 words, wire), when is_v6 */
	__be32 v4_src;       /* wire */
	__u32 id;            /* santa_value.rrl_id */
	__u8 kind;           /* santa_value.rrl_kind */
	__u8 is_v6;
};

/* exempt-clients: an address match list; none matching is not exempt. */
static __always_inline int rrl_exempt(const struct santa_rrl_config *cfg,
				      const struct santa_rrl_input *in)
{
	if (in->is_v6)
		return address_matches(cfg->exempt_v6, cfg->n_exempt_v6, SANTA_RRL_MAX_EXEMPT, 1, 0,
				       in->v6_src);
	return address_matches(cfg->exempt_v4, cfg->n_exempt_v4, SANTA_RRL_MAX_EXEMPT, 0, in->v4_src,
			       NULL);
}

/* One debit of the bucket under `key` at second `now` (BIND's debit_rrl_entry). */
static __always_inline int rrl_debit(const struct santa_rrl_key *key, __s32 rate, __s32 window,
				     __u32 now, __u32 slip)
{
	struct santa_rrl_bucket *b = bpf_map_lookup_elem(&santa_rrl_buckets, key);
	__s32 balance, age;
	__u32 slip_cnt;

	if (!b) {
		/* A new bucket starts full and this reply takes a token; rate >= 1 here. */
		struct santa_rrl_bucket fresh = { .balance = rate - 1, .ts = now };

		bpf_map_update_elem(&santa_rrl_buckets, key, &fresh, BPF_ANY);
		return SANTA_RRL_ALLOW;
	}
	balance = b->balance;
	slip_cnt = b->slip_cnt;
	/* Seconds since the last debit; a clock that went back counts as no time. */
	age = (__s32)(now - b->ts);
	if (age > 0) {
		if (age > window) {
			balance = rate;
			slip_cnt = 0;
		} else {
			balance += rate * age;
			if (balance > rate) {
				balance = rate;
				slip_cnt = 0;
			}
		}
	}
	b->ts = now;
	if (--balance >= 0) {
		b->balance = balance;
		b->slip_cnt = slip_cnt;
		return SANTA_RRL_ALLOW;
	}
	if (balance < -window * rate)
		balance = -window * rate;
	b->balance = balance;
	if (slip) {
		if (slip_cnt++ == 0) {
			if (slip_cnt >= slip)
				slip_cnt = 0;
			b->slip_cnt = slip_cnt;
			return SANTA_RRL_SLIP;
		}
		if (slip_cnt >= slip)
			slip_cnt = 0;
	}
	b->slip_cnt = slip_cnt;
	return SANTA_RRL_DROP;
}

/* The configuration when limiting is on, else NULL: one array lookup (inlined by the verifier,
 * no helper call) and one load. */
static __always_inline const struct santa_rrl_config *santa_rrl_config_on(void)
{
	__u32 zero = 0;
	const struct santa_rrl_config *cfg = bpf_map_lookup_elem(&santa_rrl_config, &zero);

	return cfg && cfg->on ? cfg : NULL;
}

/* The verdict for one reply that is about to be sent, under cfg from santa_rrl_config_on(). */
static __always_inline int santa_rrl(const struct santa_rrl_config *cfg, const struct santa_rrl_input *in)
{
	struct santa_rrl_key key = {};
	__u32 kind = in->kind, now, slip;
	__s32 rate, window;
	int verdict;

	if (kind >= SANTA_RRL_KIND_COUNT || cfg->hz == 0)
		return SANTA_RRL_ALLOW; /* user space never writes these */
	if (rrl_exempt(cfg, in))
		return SANTA_RRL_ALLOW;

	now = bpf_jiffies64() / cfg->hz;
	window = cfg->window;
	if (in->is_v6) {
		const __u32 *m = (const __u32 *)cfg->v6_mask;
		__u32 *a = (__u32 *)key.addr;

		a[0] = in->v6_src[0] & m[0];
		a[1] = in->v6_src[1] & m[1];
		a[2] = in->v6_src[2] & m[2];
		a[3] = in->v6_src[3] & m[3];
		key.family = 6;
	} else {
		*(__u32 *)key.addr = in->v4_src & cfg->v4_mask;
		key.family = 4;
	}

	verdict = SANTA_RRL_ALLOW;
	rate = cfg->rate[kind];
	if (rate > 0) {
		key.id = in->id;
		key.kind = kind;
		/* BIND never slips an error response: some cannot be retried over TCP. */
		slip = kind == SANTA_RRL_ERROR ? 0 : cfg->slip;
		verdict = rrl_debit(&key, rate, window, now, slip);
	}
	rate = cfg->all_rate;
	if (rate > 0) {
		int all;

		key.id = 0;
		key.kind = SANTA_RRL_ALL;
		all = rrl_debit(&key, rate, window, now, 0);
		if (all != SANTA_RRL_ALLOW)
			verdict = all; /* all-per-second wins, and it only drops */
	}
	if (verdict != SANTA_RRL_ALLOW && cfg->log_only)
		return SANTA_RRL_WOULD_LIMIT;
	return verdict;
}

#endif /* SANTA_RRL_H */
