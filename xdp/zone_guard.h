/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * zone_guard.h: the zone change guard (santa_abi.h), included by santa.bpf.c after its small
 * helpers. An UPDATE or NOTIFY query on its way to BIND, or the answer to a zone transfer BIND
 * asked a primary for, bumps the generation of the zone it names, so that the zone's entries
 * stop hitting before BIND can apply the change.
 *
 * Two hooks see such messages:
 *   - santa_xdp, on the interface it answers on (santa_zone_change and the L4 variants below,
 *     called from its parse);
 *   - santa_lo_guard, a tc ingress program for the loopback device of BIND's network namespace:
 *     `nsupdate -l`, an ACME client or a script updating through 127.0.0.1, or any local
 *     process sending to one of the server's own addresses, never crosses the NIC. It shares
 *     this object's maps (it is loaded with santa_xdp), only reads, and always lets the packet
 *     go on.
 * Both measure and hash the name in global functions (santa_zone_name_len, santa_bump_zone)
 * that neither hook's context reaches: each copies the name out of its packet first.
 */
#ifndef SANTA_ZONE_GUARD_H
#define SANTA_ZONE_GUARD_H

#include <linux/pkt_cls.h>

/* A wire name copied out of a packet; bytes past the name are never read. */
struct zone_name {
	__u64 w[SANTA_NAME_WORDS];
};

/* The length of the plain-label name at the start of `name` (root label included), or 0 when
 * it does not end within its first len bytes (the message ended first, or a label is a
 * pointer or reserved type: BIND refuses such messages). A global function, verified once: its
 * callers see one number, not a path per label. */
__noinline int santa_zone_name_len(const struct zone_name *name, __u32 len)
{
	const __u8 *bytes;
	__u32 off = 0;

	if (!name)
		return 0;
	bytes = (const __u8 *)name->w;
	if (len > SANTA_NAME_MAX)
		len = SANTA_NAME_MAX;
	for (__u32 i = 0; i < (SANTA_NAME_MAX + 1) / 2; i++) {
		__u8 label;

		if (off >= len)
			return 0;
		label = bytes[off & 0xff];
		if (label == 0)
			return off + 1;
		if (label > 63)
			return 0;
		off += label + 1;
	}
	return 0;
}

/* Bumps the generation of the zone whose name is the first name_len bytes of `name` (as
 * santa_zone_name_len measured it) and counts it under `counter`. The name is hashed as user
 * space hashes the key (apex, SOA, IN) with no query bits. Returns 1 when a generation was
 * bumped. A global function: verified once. */
__noinline int santa_bump_zone(const struct santa_settings *cfg, const struct zone_name *name,
			       __u32 name_len, __u32 counter)
{
	struct santa_key_hdr h = { .qtype = bpf_htons(SANTA_DNS_TYPE_SOA), .qclass = bpf_htons(SANTA_DNS_CLASS_IN) };
	__u32 zero = 0, slot, *gen;
	struct santa_stats *st;
	__u64 hash;

	if (!cfg || !name || name_len < 1 || name_len > SANTA_NAME_MAX || counter >= SANTA_COUNTER_MAX)
		return 0;
	hash = cfg->hash_seed;
	for (__u32 i = 0; i < SANTA_NAME_WORDS; i++) {
		__u64 w;

		if (i * 8 >= name_len)
			break;
		w = name->w[i];
		if (i * 8 + 8 > name_len)
			w = first_bytes(w, name_len - i * 8);
		hash = santa_hash_u64(hash, lower_word(w));
	}
	h.name_len = name_len;
	hash = santa_hash_final(santa_hash_u64(hash, *(__u64 *)&h));
	slot = SANTA_ZONE_SLOT(hash);
	gen = bpf_map_lookup_elem(&santa_zone_gens, &slot);
	if (!gen)
		return 0;
	__sync_fetch_and_add(gen, 1);
	st = bpf_map_lookup_elem(&santa_stats, &zero);
	if (st)
		st->counters[counter]++;
	return 1;
}

/* The zone a message names (the name at the start of `name`, its first len bytes copied from
 * the message's first section), bumped under `counter`. With `transfer`, only if the name is
 * followed, within len, by the question type AXFR or IXFR. */
static __always_inline int bump_named_zone(const struct santa_settings *cfg, const struct zone_name *name,
					   __u32 len, __u32 counter, int transfer)
{
	__u32 n = santa_zone_name_len(name, len);

	if (n == 0)
		return 0;
	if (transfer) {
		const __u8 *bytes = (const __u8 *)name->w;

		if (n + 2 > len || n + 2 > SANTA_NAME_MAX || bytes[n & 0xff] != 0 ||
		    (bytes[(n + 1) & 0xff] != DNS_TYPE_AXFR && bytes[(n + 1) & 0xff] != DNS_TYPE_IXFR))
			return 0;
	}
	return santa_bump_zone(cfg, name, n, counter);
}

/* Whether DNS header bytes 2..3 say UPDATE or NOTIFY, as a query (QR clear). */
static __always_inline int zone_change_opcode(const __u8 *flags)
{
	__u32 f = ((__u32)flags[0] << 8 | flags[1]) & (DNS_QR | DNS_OPCODE);

	return f == DNS_OPCODE_UPDATE || f == DNS_OPCODE_NOTIFY;
}

/* Whether DNS header bytes 2..5 start a zone transfer's answer: a response (QR, opcode QUERY,
 * NOERROR) with one question (AXFR or IXFR, checked with the name). */
static __always_inline int transfer_response(const __u8 *hdr)
{
	__u32 f = (__u32)hdr[0] << 8 | hdr[1];

	return (f & (DNS_QR | DNS_OPCODE | DNS_RCODE)) == DNS_QR && hdr[2] == 0 && hdr[3] == 1;
}

/* Where the DNS message starts behind the L4 header at l4_off (dport: its destination port;
 * doff: TCP's data offset byte), or 0 when it is not to a served port or cannot hold a header
 * and a name. Over TCP the message follows its 2-byte length. `end` is the frame offset where
 * the IP packet ends. With `any_port`, whatever the destination port. Only these two fields
 * of the header are read (a copy of all of it costs ~60 instructions in byte loads). */
static __always_inline __u32 l4_dns_offset(const struct santa_settings *cfg, __be16 dport, __u8 doff,
					   __u32 l4_off, __u32 end, int tcp, int any_port)
{
	__u32 dns_off;

	if (!any_port && !served_port(cfg, dport))
		return 0;
	if (tcp && (doff >> 4) < 5)
		return 0;
	dns_off = tcp ? l4_off + (doff >> 4) * 4 + 2 : l4_off + 8;
	if (end < dns_off + DNS_HLEN + 1 || end > 0xffff)
		return 0;
	return dns_off;
}

/* ---- in santa_xdp --------------------------------------------------------------------- */

/* An UPDATE or NOTIFY in a UDP datagram the answer path parsed (dns_off: its header). The name
 * goes through the scratch map: such messages are rare, so a helper call will do. */
__noinline int santa_zone_change(struct xdp_md *ctx, const struct santa_settings *cfg,
				 struct santa_scratch *s, __u32 dns_off, __u32 msg_len)
{
	__u32 len = msg_len < SANTA_NAME_MAX ? msg_len : SANTA_NAME_MAX;

	if (!cfg || !s || len < 1)
		return 0;
	if (bpf_xdp_load_bytes(ctx, dns_off + DNS_HLEN, s->question, len))
		return 0;
	return bump_named_zone(cfg, (const struct zone_name *)s->question, len, SANTA_CNT_ZONE_CHANGES, 0);
}

/* Copies `len` bytes (a constant) at frame offset `off` to `to`: straight out of the frame when
 * they lie in its first buffer, else with a helper call. Every TCP segment to a served address
 * comes this way (other services on the DNS server's address too), so the common case takes
 * no helper call. */
static __always_inline int xdp_copy(struct xdp_md *ctx, __u32 off, void *to, const __u32 len)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *p = data + (off & 0xff);

	if (off <= 0xff && (void *)(p + len) <= data_end) {
		__builtin_memcpy(to, p, len);
		return 0;
	}
	return bpf_xdp_load_bytes(ctx, off, to, len);
}

/* The same for a DNS message in a packet the answer path does not take: a TCP segment (nsupdate
 * -v, most ACME clients, a primary's NOTIFY over TCP) whose payload starts with a message's 2-byte
 * length, or the first fragment of a UDP datagram (an UPDATE too large for one packet), to a
 * served port. Only a message at the start of a segment is seen: one later in a stream that
 * carries several is left to the serial polls.
 *
 * Over TCP, to any port, also the answer to a zone transfer BIND asked for as a secondary: the
 * zone's new data arriving after BIND's own refresh timer (or `rndc refresh`) found a newer
 * serial at the primary, with no NOTIFY to see. It is bumped before BIND has read the data. */
static __always_inline int l4_zone_change(struct xdp_md *ctx, const struct santa_settings *cfg,
					  struct santa_scratch *s, __u32 l4_off, __u32 end, int tcp)
{
	__u32 dns_off, len, transfer;
	__u8 doff = 5 << 4, hdr[4];
	__be16 dport;

	if (!cfg || !s || xdp_copy(ctx, l4_off + 2, &dport, sizeof(dport)) ||
	    (tcp && xdp_copy(ctx, l4_off + 12, &doff, sizeof(doff))))
		return 0;
	dns_off = l4_dns_offset(cfg, dport, doff, l4_off, end, tcp, tcp);
	if (!dns_off || xdp_copy(ctx, dns_off + 2, hdr, sizeof(hdr)))
		return 0;
	transfer = tcp && transfer_response(hdr);
	/* UDP was checked for a served port above; TCP was let through for transfers. */
	if (!transfer && !(zone_change_opcode(hdr) && (!tcp || served_port(cfg, dport))))
		return 0;
	len = end - dns_off - DNS_HLEN;
	if (len > SANTA_NAME_MAX)
		len = SANTA_NAME_MAX;
	if (len < 1 || bpf_xdp_load_bytes(ctx, dns_off + DNS_HLEN, s->question, len))
		return 0;
	return bump_named_zone(cfg, (const struct zone_name *)s->question, len, SANTA_CNT_ZONE_CHANGES, transfer);
}

__noinline int santa_tcp_zone_change(struct xdp_md *ctx, const struct santa_settings *cfg,
				     struct santa_scratch *s, __u32 tcp_off, __u32 end)
{
	return l4_zone_change(ctx, cfg, s, tcp_off, end, 1);
}

__noinline int santa_udp_fragment_zone_change(struct xdp_md *ctx, const struct santa_settings *cfg,
					      struct santa_scratch *s, __u32 udp_off, __u32 end)
{
	return l4_zone_change(ctx, cfg, s, udp_off, end, 0);
}

/* An IPv6 fragment header at `frag_off`: the first fragment of a UDP datagram goes on to
 * santa_udp_fragment_zone_change. */
__noinline int santa_v6_fragment_zone_change(struct xdp_md *ctx, const struct santa_settings *cfg,
					     struct santa_scratch *s, __u32 frag_off, __u32 end)
{
	__u8 fh[8];

	if (xdp_copy(ctx, frag_off, fh, sizeof(fh)))
		return 0;
	if (fh[0] != IPPROTO_UDP || (((__u32)fh[2] << 8 | fh[3]) >> 3) != 0)
		return 0;
	return santa_udp_fragment_zone_change(ctx, cfg, s, frag_off + sizeof(fh), end);
}

/* ---- on the loopback device: santa_lo_guard ------------------------------------------- */

/* Copies `len` bytes (a constant) at frame offset `off` to `to`: straight out of the linear part
 * of the packet when they lie in it, as they do in every small packet on lo, else with a helper
 * call (about 25 ns each here, where every packet crossing lo pays for the guard's reads). */
static __always_inline int guard_copy(struct __sk_buff *skb, __u32 off, void *to, const __u32 len)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u8 *p = data + (off & 0xff);

	if (off <= 0xff && (void *)(p + len) <= data_end) {
		__builtin_memcpy(to, p, len);
		return 0;
	}
	return bpf_skb_load_bytes(skb, off, to, len);
}

/* A message to a served port behind the L4 header at l4_off (UDP, whole or its first fragment,
 * or the start of a TCP segment). The name is copied to the stack: this program has no scratch
 * of its own, and the answer path's is not to be touched from another hook. */
static __always_inline int guard_l4(struct __sk_buff *skb, const struct santa_settings *cfg,
				    __u32 l4_off, __u32 end, int tcp)
{
	struct zone_name name;
	__u8 doff = 5 << 4, flags[2];
	__u32 dns_off, len;
	__be16 dport;

	if (guard_copy(skb, l4_off + 2, &dport, sizeof(dport)) ||
	    (tcp && guard_copy(skb, l4_off + 12, &doff, sizeof(doff))))
		return 0;
	dns_off = l4_dns_offset(cfg, dport, doff, l4_off, end, tcp, 0);
	if (!dns_off || guard_copy(skb, dns_off + 2, flags, sizeof(flags)) || !zone_change_opcode(flags))
		return 0;
	len = end - dns_off - DNS_HLEN;
	if (len > SANTA_NAME_MAX)
		len = SANTA_NAME_MAX;
	/* The message may end before the buffer does: the rest must still be initialised. */
	__builtin_memset(&name, 0, sizeof(name));
	if (len < 1 || bpf_skb_load_bytes(skb, dns_off + DNS_HLEN, &name, len))
		return 0;
	/* Not transfers: on lo they are Santa's own, from BIND (bind.*_zones: transfer). */
	return bump_named_zone(cfg, &name, len, SANTA_CNT_LOOPBACK_ZONE_CHANGES, 0);
}

/* tc ingress on `lo`, in section "classifier" (libbpf's older name for "tc", and the one the
 * BPF library bpfman parses objects with knows: it refuses the whole object over "tc"), where every locally sent packet arrives framed as Ethernet. No address
 * check: whatever travels over loopback is addressed to this host. Modes as in santa_xdp: off
 * sees nothing. Never changes the packet or its fate (TC_ACT_UNSPEC: the next filter, if any,
 * decides). */
SEC("classifier")
int santa_lo_guard(struct __sk_buff *skb)
{
	const struct santa_settings *cfg;
	__u32 zero = 0;

	cfg = bpf_map_lookup_elem(&santa_settings, &zero);
	if (!cfg || (cfg->mode != SANTA_MODE_ON && cfg->mode != SANTA_MODE_DRY_RUN))
		return TC_ACT_UNSPEC;
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;
		__u32 l4_off, end;

		if (guard_copy(skb, ETH_HLEN, &ip, sizeof(ip)) || ip.version != 4 || ip.ihl < 5)
			return TC_ACT_UNSPEC;
		/* A later fragment starts mid-datagram; a TCP segment is never sent in pieces. */
		if (ip.frag_off & bpf_htons(0x1fff))
			return TC_ACT_UNSPEC;
		l4_off = ETH_HLEN + ip.ihl * 4;
		end = ETH_HLEN + bpf_ntohs(ip.tot_len);
		if (ip.protocol == IPPROTO_UDP)
			guard_l4(skb, cfg, l4_off, end, 0);
		else if (ip.protocol == IPPROTO_TCP && !(ip.frag_off & bpf_htons(0x2000)))
			guard_l4(skb, cfg, l4_off, end, 1);
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;
		__u32 l4_off = ETH_HLEN + sizeof(ip6), end;
		__u8 fh[8];

		if (guard_copy(skb, ETH_HLEN, &ip6, sizeof(ip6)) || ip6.version != 6)
			return TC_ACT_UNSPEC;
		end = l4_off + bpf_ntohs(ip6.payload_len);
		if (ip6.nexthdr == IPPROTO_UDP)
			guard_l4(skb, cfg, l4_off, end, 0);
		else if (ip6.nexthdr == IPPROTO_TCP)
			guard_l4(skb, cfg, l4_off, end, 1);
		else if (ip6.nexthdr == IPPROTO_FRAGMENT && !guard_copy(skb, l4_off, fh, sizeof(fh)) &&
			 fh[0] == IPPROTO_UDP && (((__u32)fh[2] << 8 | fh[3]) >> 3) == 0)
			guard_l4(skb, cfg, l4_off + sizeof(fh), end, 0);
	}
	return TC_ACT_UNSPEC;
}

#endif /* SANTA_ZONE_GUARD_H */
