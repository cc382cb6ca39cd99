// SPDX-License-Identifier: GPL-2.0-only
/*
 * santa_xdp: answers the DNS questions user space has installed, with the response BIND
 * itself would send, and passes everything else to the kernel untouched.
 *
 * The rule that shapes the code: nothing is written into the packet until the reply is
 * certain (entry found, lease valid, size within the client's limit, frame resized). Every
 * XDP_PASS therefore hands the kernel the exact bytes that arrived.
 *
 * Map layouts come from include/santa_abi.h (the contract with user space).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "santa_abi.h"
#include "rrl.h"

char LICENSE[] SEC("license") = "GPL";

#include "santa_maps.bpf.h"

#define SANTA_QUESTION_MAX (SANTA_NAME_MAX + 4)
#define SANTA_QUESTION_WORDS ((SANTA_QUESTION_MAX + 7) / 8)
#define SANTA_L2_MAX (ETH_HLEN + 2 * 4)

/* What the parse learns and the reply needs; everything else is re-read from scratch. */
struct query {
	__u32 frame_len;  /* data_end - data on arrival (may include Ethernet padding) */
	__u32 l2_len;     /* 14, 18 or 22 */
	__u32 l3_len;     /* IP header length as received (IPv4 options included) */
	__u32 dns_off;    /* frame offset of the DNS header */
	__u32 msg_len;    /* DNS message bytes after the header */
	__u32 name_len;
	__u64 hash;       /* the key's (santa_hash_*) */
	__u32 limit;      /* the client's UDP payload limit */
	__u64 qsum;       /* one's-complement partial sum of the question bytes */
	__be32 v4_src, v4_dst;
	__be16 sport, dport;
	__be16 id, qflags;
	__u8 is_v6;
	__u8 cookie;      /* enum cookie_state */
	__u64 cookie_sum; /* checksum part of the reply's COOKIE option and longer lengths */
};

/* Per-CPU working memory: the BPF stack (512 bytes) cannot hold a key and a question. */
struct santa_scratch {
	/* Held here, not on the stack, for the verifier: what a stage stores here and the next
	 * reloads (after a compiler barrier) is an unknown number the next stage bounds itself,
	 * so the paths through VLAN tags, IP versions and EDNS do not multiply into the rest. */
	struct query q;
	struct santa_key key;     /* the query's, as entries hold it (name words past the name: stale) */
	/* The question as received, copied only when a reply must be built in headroom (the
	 * frame moves, and the question with it). */
	__u64 question[SANTA_QUESTION_WORDS];
	__u8 l2[SANTA_L2_MAX];    /* the reply's L2 header: MACs swapped, VLAN tags kept */
	__u8 pad[2];
	__u64 v6_src[2], v6_dst[2];
	/* The query's client cookie (word 0) and server cookie (words 1-2); while hashing, words
	 * 0-1 and then the IPv6 client address (words 2-3) are the SipHash input of RFC 9018. */
	__u64 cookie_in[4];
	/* The reply's OPT rdlen and COOKIE option (30 bytes, zero-padded to whole words). */
	__u64 cookie_out[4];
	/* A slipped reply's OPT record and COOKIE option (11 + 28 bytes, zero-padded). */
	__u64 slip_tail[6];
};

_Static_assert(SANTA_COUNTER_MAX <= 32, "counter index mask in santa_xdp");
_Static_assert(SANTA_L2_MAX == 22, "the L2 moves in reply_resize and write_headers");
_Static_assert(__builtin_offsetof(struct santa_key, name) % 8 == 0, "key name alignment");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct santa_scratch);
} santa_scratch SEC(".maps");

/* ---- small helpers ------------------------------------------------------------------- */

#define DNS_HLEN 12
#define DNS_QR 0x8000
#define DNS_OPCODE 0x7800
#define DNS_AA 0x0400
#define DNS_TC 0x0200
#define DNS_RD 0x0100
#define DNS_AD 0x0020
#define DNS_CD 0x0010
#define DNS_RCODE 0x000f
#define DNS_NXDOMAIN 3
#define DNS_OPCODE_NOTIFY (4 << 11)
#define DNS_OPCODE_UPDATE (5 << 11)
#define DNS_BADCOOKIE 23 /* extended rcode: 7 in the header, 1 in the OPT */
#define OPT_RR_LEN 11
#define DNS_TYPE_OPT 41
#define DNS_TYPE_IXFR 251
#define DNS_TYPE_AXFR 252
#define EDNS_DO 0x8000
#define DNS_PLAIN_UDP_MAX 512
#define REPLY_TTL 64

/* DNS cookies: RFC 7873 option 10; RFC 9018 server cookie (version 1, 3 reserved bytes, 32-bit
 * timestamp, 8-byte SipHash-2-4) as BIND 9.18 builds it with cookie-algorithm siphash24. */
#define EDNS_COOKIE 10
#define COOKIE_CLIENT_LEN 8
#define COOKIE_SERVER_LEN 16
#define COOKIE_OPTION_LEN (4 + COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN) /* what the reply adds */
#define COOKIE_VERSION 1
/* BIND accepts a server cookie minted at most an hour ago and at most 5 minutes ahead (clock
 * skew between servers sharing a secret). */
#define COOKIE_MAX_AGE 3600
#define COOKIE_MAX_AHEAD 300
#define NS_PER_SEC 1000000000ULL

enum cookie_state {
	COOKIE_NONE = 0,   /* no OPT options */
	COOKIE_CLIENT,     /* a client cookie only: the reply mints a server cookie */
	COOKIE_SERVER,     /* client and a 16-byte server cookie: valid ones hit */
};

struct vlan_tag {
	__be16 tci;
	__be16 proto;
};


/* Packet pointers carry no alignment the compiler knows of, so __builtin_memcpy to or from a
 * packet compiles to one load and one store per byte. These move bytes in whole words instead:
 * the x86-64 and arm64 JITs load and store unaligned words, and the verifier allows it unless
 * the program is loaded with BPF_F_STRICT_ALIGNMENT (read_word() and store() rely on it too). */
#define MOVE(dst, src, type) (*(type *)(dst) = *(const type *)(src))

static __always_inline void move6(void *dst, const void *src)
{
	MOVE(dst, src, __u32);
	MOVE(dst + 4, src + 4, __u16);
}

static __always_inline void move16(void *dst, const void *src)
{
	MOVE(dst, src, __u64);
	MOVE(dst + 8, src + 8, __u64);
}

/* The 16-bit wire value v as the k-th 16-bit slot of an 8-byte word loaded from memory. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define WIRE_U16_AT(v, k) ((__u64)(__u16)(v) << (16 * (k)))
#else
#define WIRE_U16_AT(v, k) ((__u64)(__u16)(v) << (16 * (3 - (k))))
#endif

/* Benchmark builds only (test/bench/xdp-stages.ts builds santa-cut<N>.bpf.o): stop after stage N,
 * so each stage's cost is the difference between two builds. Stages 1-5 drop the frame; 6 and 7,
 * inside the reply, return -2 (XDP_ABORTED: the frame is no longer the query's). Nothing in a
 * normal build. */
#ifdef SANTA_BENCH_CUT
#define BENCH_CUT_RETURN(n, v) do { if ((n) == SANTA_BENCH_CUT) return (v); } while (0)
#else
#define BENCH_CUT_RETURN(n, v) do { } while (0)
#endif
#define BENCH_CUT(n) BENCH_CUT_RETURN(n, XDP_DROP)

/* A pass reason, returned from the block that names it. Without the empty asm the compiler
 * folds every such block into the one that counts the reason, and then loads each reason into
 * a register before its check, on the path every hit takes (one instruction per check). The
 * stages jump to these blocks at their ends, out of the straight line a hit runs. */
static __always_inline __u32 pass_reason(__u32 reason)
{
	asm volatile("" : "+r"(reason));
	return reason;
}

/* Makes the compiler reload what earlier code stored in memory (see struct santa_scratch). */
#define STAGE_BOUNDARY() asm volatile("" ::: "memory")

/* x & mask, done in the program rather than proven away by the compiler: the verifier needs
 * the explicit bound on offsets it cannot follow through loops. */
#define VERIFIER_MASK(x, mask) ({ __u64 __v = (x); asm volatile("%0 &= " #mask : "+r"(__v)); __v; })

static __always_inline __u16 csum_fold(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* Both 32-bit halves of a word, so a u64 accumulator cannot overflow. The one's-complement
 * sum is byte-order independent: words summed as loaded give the sum of the network-order
 * 16-bit words as loaded, and the folded result can be stored back as is. */
static __always_inline __u64 csum_word(__u64 w)
{
	return (w & 0xffffffff) + (w >> 32);
}

/* ASCII A-Z to a-z in all eight bytes at once; bytes >= 0x80 are left alone. */
static __always_inline __u64 lower_word(__u64 w)
{
	const __u64 ones = 0x0101010101010101ULL;
	__u64 low7 = w & (0x7f * ones);
	__u64 above_z = low7 + (0x7f - 'Z') * ones; /* high bit set where byte > 'Z' */
	__u64 from_a = low7 + (0x80 - 'A') * ones;  /* high bit set where byte >= 'A' */
	__u64 upper = (from_a ^ above_z) & ~w & (0x80 * ones);

	return w | (upper >> 2);
}

static __always_inline int served_port(const struct santa_settings *cfg, __be16 port)
{
	__u32 n = cfg->n_ports;

	if (n == 0)
		return port == bpf_htons(53);
#pragma unroll
	for (__u32 i = 0; i < SANTA_MAX_PORTS; i++)
		if (i < n && cfg->ports[i] == port)
			return 1;
	return 0;
}

static __always_inline int served_v4(const struct santa_settings *cfg, __be32 addr)
{
	__u32 n = cfg->n_v4;

	/* Never answer for a group or broadcast address: the reply would claim it as source. */
	if ((addr & bpf_htonl(0xf0000000)) == bpf_htonl(0xe0000000) || addr == 0xffffffff)
		return 0;
	if (n == 0)
		return 1;
#pragma unroll
	for (__u32 i = 0; i < SANTA_MAX_ADDRS; i++)
		if (i < n && cfg->v4_addrs[i] == addr)
			return 1;
	return 0;
}

static __always_inline int served_v6(const struct santa_settings *cfg, const __u64 *addr)
{
	__u32 n = cfg->n_v6;

	if ((addr[0] & bpf_cpu_to_be64(0xff00000000000000ULL)) ==
	    bpf_cpu_to_be64(0xff00000000000000ULL))
		return 0;
	if (n == 0)
		return 1;
#pragma unroll
	for (__u32 i = 0; i < SANTA_MAX_ADDRS; i++) {
		const __u64 *a = (const __u64 *)cfg->v6_addrs[i];

		if (i < n && a[0] == addr[0] && a[1] == addr[1])
			return 1;
	}
	return 0;
}

/* The IPv4 header checksum, options included (the kernel drops a header that fails it). */
static __always_inline int ipv4_header_ok(struct iphdr *ip, void *data_end, __u32 ihl)
{
	__u32 *w5 = (__u32 *)ip;
	__u64 sum = 0;

	/* Nearly every header has no options: five words the caller has already bounds-checked. */
	if (ihl == sizeof(*ip))
		return csum_fold((__u64)w5[0] + w5[1] + w5[2] + w5[3] + w5[4]) == 0xffff;
	for (__u32 i = 0; i < 60 / 4; i++) {
		__u32 *w = (__u32 *)ip + i;

		if (i * 4 >= ihl)
			break;
		/* Keeps the bound check on this pointer (clang would rewrite it against data_end,
		 * which the verifier refuses). */
		asm volatile("" : "+r"(w));
		if ((void *)(w + 1) > data_end)
			return 0;
		sum += *w;
	}
	return csum_fold(sum) == 0xffff;
}

/* A source the reply may go to: not unspecified, loopback, group or limited broadcast (the
 * kernel treats those as martians and BIND never sees them). */
static __always_inline int unicast_source_v4(__be32 addr)
{
	__u32 a = bpf_ntohl(addr);

	return (a >> 24) != 0 && (a >> 24) != 127 && (a >> 28) != 0xe && a != 0xffffffff;
}

static __always_inline int unicast_source_v6(const __u64 *addr)
{
	__u64 hi = bpf_be64_to_cpu(addr[0]), lo = bpf_be64_to_cpu(addr[1]);

	if ((hi >> 56) == 0xff)
		return 0; /* multicast */
	return !(hi == 0 && (lo == 0 || lo == 1)); /* :: and ::1 */
}

/* IPv6 next-header values that are extension headers (RFC 8200 4, RFC 7045). */
static __always_inline int ipv6_ext_header(__u8 nexthdr)
{
	switch (nexthdr) {
	case IPPROTO_HOPOPTS:
	case IPPROTO_ROUTING:
	case IPPROTO_DSTOPTS:
	case IPPROTO_AH:
	case IPPROTO_ESP:
	case 135: /* mobility */
	case 139: /* HIP */
	case 140: /* shim6 */
	case 253: /* experimental */
	case 254:
		return 1;
	}
	return 0;
}

/* ---- parsing ------------------------------------------------------------------------- */

/* The zone change guard's entry points (zone_guard.h, included below; each verified on its own). */
__noinline int santa_zone_change(struct xdp_md *ctx, const struct santa_settings *cfg,
				 struct santa_scratch *s, __u32 dns_off, __u32 msg_len);
__noinline int santa_tcp_zone_change(struct xdp_md *ctx, const struct santa_settings *cfg,
				     struct santa_scratch *s, __u32 tcp_off, __u32 end);
__noinline int santa_udp_fragment_zone_change(struct xdp_md *ctx, const struct santa_settings *cfg,
					      struct santa_scratch *s, __u32 udp_off, __u32 end);
__noinline int santa_v6_fragment_zone_change(struct xdp_md *ctx, const struct santa_settings *cfg,
					     struct santa_scratch *s, __u32 frag_off, __u32 end);

/* Ethernet, IP and UDP. Returns 0 when the packet is UDP to a served port and address with
 * consistent lengths, else the pass reason. Counts SANTA_CNT_DNS_QUERIES on the way.
 *
 * The stages hand their results to the next through struct santa_scratch, reloaded after a
 * compiler barrier (STAGE_BOUNDARY), so the verifier meets them as plain bounded numbers and the
 * paths through VLAN tags, IP versions and name lengths do not multiply into the rest of the
 * program. */
static __always_inline int santa_parse_headers(struct xdp_md *ctx, const struct santa_settings *cfg,
				   struct santa_scratch *s, struct query *q, struct santa_stats *st)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 l2 = ETH_HLEN, l4_len;
	struct udphdr *udp;
	__be16 proto;

	if ((void *)(eth + 1) > data_end)
		goto not_dns;
	/* Group-addressed frames are not queries to this host, and a group source cannot be
	 * answered (the reply would go to the group). */
	if ((eth->h_dest[0] | eth->h_source[0]) & 1)
		goto not_dns;
	q->frame_len = data_end - data;
	/* struct ethhdr is packed: through it the type is two byte loads. */
	proto = *(__be16 *)((void *)eth + 12);
#pragma unroll
	for (int i = 0; i < 2; i++) {
		if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
			struct vlan_tag *tag = data + l2;

			if ((void *)(tag + 1) > data_end)
				goto not_dns;
			proto = tag->proto;
			l2 += sizeof(*tag);
		}
	}
	q->l2_len = l2;

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data + l2;
		__u32 ihl, tot_len;

		if ((void *)(ip + 1) > data_end)
			goto malformed;
		if (ip->version != 4 || ip->ihl < 5)
			goto malformed;
		if (ip->protocol != IPPROTO_UDP) {
			/* Not for us to answer, but an UPDATE or NOTIFY over TCP is still news. */
			if (ip->protocol == IPPROTO_TCP && served_v4(cfg, ip->daddr) &&
			    !(ip->frag_off & bpf_htons(0x3fff)))
				santa_tcp_zone_change(ctx, cfg, s, l2 + ip->ihl * 4, l2 + bpf_ntohs(ip->tot_len));
			goto not_dns;
		}
		if (!served_v4(cfg, ip->daddr))
			goto not_dns;
		/* MF set or a non-zero offset: a piece of a datagram we cannot see whole. The first
		 * piece still shows whether it carries an UPDATE or NOTIFY. */
		if (ip->frag_off & bpf_htons(0x3fff)) {
			if (!(ip->frag_off & bpf_htons(0x1fff)))
				santa_udp_fragment_zone_change(ctx, cfg, s, l2 + ip->ihl * 4, l2 + bpf_ntohs(ip->tot_len));
			goto fragment;
		}
		ihl = ip->ihl * 4;
		tot_len = bpf_ntohs(ip->tot_len);
		q->v4_src = ip->saddr;
		q->v4_dst = ip->daddr;
		q->l3_len = ihl;
		q->is_v6 = 0;
		udp = data + l2 + ihl;
		if ((void *)(udp + 1) > data_end)
			goto malformed;
		if (!served_port(cfg, udp->dest))
			goto not_dns;
		st->counters[SANTA_CNT_DNS_QUERIES]++;
		/* The IP length, not the frame, says where the datagram ends: short frames are
		 * padded on Ethernet. */
		if (tot_len < ihl + sizeof(*udp) || l2 + tot_len > q->frame_len)
			goto malformed;
		/* What the kernel would drop before BIND sees it must not be answered either. */
		if (!ipv4_header_ok(ip, data_end, ihl))
			goto malformed;
		if (!unicast_source_v4(ip->saddr))
			goto unsupported;
		l4_len = tot_len - ihl;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data + l2;
		__u32 payload_len;

		if ((void *)(ip6 + 1) > data_end)
			goto malformed;
		if (ip6->version != 6)
			goto malformed;
		move16(s->v6_src, &ip6->saddr);
		move16(s->v6_dst, &ip6->daddr);
		if (!served_v6(cfg, s->v6_dst))
			goto not_dns;
		if (ip6->nexthdr == IPPROTO_FRAGMENT) {
			santa_v6_fragment_zone_change(ctx, cfg, s, l2 + sizeof(*ip6),
						      l2 + sizeof(*ip6) + bpf_ntohs(ip6->payload_len));
			goto fragment;
		}
		if (ipv6_ext_header(ip6->nexthdr))
			goto unsupported;
		if (ip6->nexthdr != IPPROTO_UDP) {
			if (ip6->nexthdr == IPPROTO_TCP)
				santa_tcp_zone_change(ctx, cfg, s, l2 + sizeof(*ip6),
						      l2 + sizeof(*ip6) + bpf_ntohs(ip6->payload_len));
			goto not_dns;
		}
		payload_len = bpf_ntohs(ip6->payload_len);
		q->l3_len = sizeof(*ip6);
		q->is_v6 = 1;
		udp = (void *)(ip6 + 1);
		if ((void *)(udp + 1) > data_end)
			goto malformed;
		if (!served_port(cfg, udp->dest))
			goto not_dns;
		st->counters[SANTA_CNT_DNS_QUERIES]++;
		if (payload_len < sizeof(*udp) || l2 + sizeof(*ip6) + payload_len > q->frame_len)
			goto malformed;
		if (!unicast_source_v6(s->v6_src))
			goto unsupported;
		l4_len = payload_len;
	} else {
		goto not_dns;
	}

	if (bpf_ntohs(udp->len) != l4_len)
		goto malformed;
	/* BIND drops queries from port 0; let it. */
	if (udp->source == 0)
		goto unsupported;
	if (l4_len < sizeof(*udp) + DNS_HLEN + 1)
		goto malformed;
	q->sport = udp->source;
	q->dport = udp->dest;
	q->dns_off = l2 + q->l3_len + sizeof(*udp);
	q->msg_len = l4_len - sizeof(*udp) - DNS_HLEN;
	return 0;
not_dns:
	return pass_reason(SANTA_CNT_PASS_NOT_DNS);
malformed:
	return pass_reason(SANTA_CNT_PASS_MALFORMED);
fragment:
	return pass_reason(SANTA_CNT_PASS_FRAGMENT);
unsupported:
	return pass_reason(SANTA_CNT_PASS_UNSUPPORTED);
}

/* A value of `size` bytes read from memory, placed at byte k of a word in memory order. */
static __always_inline __u64 place_bytes(__u64 v, __u32 k, __u32 size)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return v << (k * 8);
#else
	return v << ((8 - k - size) * 8);
#endif
}

/* The last n (1..7) of the 8 bytes loaded from memory, moved to the front of the word (memory
 * order) with zeroes after them: the end of a field read as the 8 bytes that end where it ends. */
static __always_inline __u64 last_bytes(__u64 w, __u32 n)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return w >> ((8 - n) * 8);
#else
	return w << ((8 - n) * 8);
#endif
}

/* An OPT RDATA of rdlen bytes at opt + 11: 0 when it is exactly one COOKIE option that can
 * be answered (q->cookie says which kind; the cookies are saved in s->cookie_in), else the
 * pass reason. Cookie lengths follow RFC 7873 5.2: a client cookie of 8 bytes, optionally a
 * server cookie of 8..32; BIND only recognises its own 16-byte form, so any other length goes
 * to BIND, as do malformed lengths (FORMERR from BIND). */
static __always_inline __u32 parse_cookie(const struct santa_settings *cfg, struct santa_scratch *s,
					  struct query *q, __u8 *opt, void *data_end, __u32 rdlen)
{
	__u32 code, len;

	if (!cfg->cookie_on || !cfg->clock_offset_ns)
		return SANTA_CNT_PASS_EDNS_OPTIONS;
	/* Shorter than an option header: BIND answers FORMERR. (Read further, the header would
	 * come from bytes past the message, such as Ethernet padding.) */
	if (rdlen < 4)
		return SANTA_CNT_PASS_MALFORMED;
	if ((void *)(opt + 11 + 4) > data_end)
		return SANTA_CNT_PASS_MALFORMED;
	code = (__u32)opt[11] << 8 | opt[12];
	len = (__u32)opt[13] << 8 | opt[14];
	if (code != EDNS_COOKIE || len + 4 != rdlen)
		return SANTA_CNT_PASS_EDNS_OPTIONS; /* other options, or more than one */
	if (len == COOKIE_CLIENT_LEN) {
		if ((void *)(opt + 15 + COOKIE_CLIENT_LEN) > data_end)
			return SANTA_CNT_PASS_MALFORMED;
		MOVE(s->cookie_in, opt + 15, __u64);
		q->cookie = COOKIE_CLIENT;
		return 0;
	}
	if (len == COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN) {
		if ((void *)(opt + 15 + COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN) > data_end)
			return SANTA_CNT_PASS_MALFORMED;
		MOVE(s->cookie_in, opt + 15, __u64);
		move16(&s->cookie_in[1], opt + 15 + COOKIE_CLIENT_LEN);
		q->cookie = COOKIE_SERVER;
		return 0;
	}
	return SANTA_CNT_PASS_BAD_COOKIE;
}

/* The first n (1..7) bytes of a word loaded from memory, the others cleared. */
static __always_inline __u64 first_bytes(__u64 w, __u32 n)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return w & ((1ULL << (n * 8)) - 1);
#else
	return w & ~(~0ULL >> (n * 8));
#endif
}

/* The zone change guard: santa_xdp's part and the loopback program (needs the helpers above). */
#include "zone_guard.h"

/* The miss filter (santa_abi.h): whether some cached question has this one's bit, or the
 * filter is off. `first` is the key's first name word. */
static __always_inline int maybe_cached(const struct santa_settings *cfg, const struct santa_scratch *s,
					__u64 first, __u64 name_len)
{
	__u64 shift = cfg->filter_shift;
	__u32 bit, word_idx;
	__u64 *word;

	/* 0 (off) or out of range: no filter. One unsigned comparison for both ends. */
	if (shift - SANTA_FILTER_SHIFT_MIN > SANTA_FILTER_SHIFT_MAX - SANTA_FILTER_SHIFT_MIN)
		return 1;
	bit = santa_filter_bit(first, *(const __u32 *)&s->key.h, name_len, shift);
	word_idx = bit / 64;
	word = bpf_map_lookup_elem(&santa_filter, &word_idx);
	/* Past the map's end only if settings and map disagree: then the lookup decides. */
	return !word || (*word >> (bit % 64) & 1);
}

/* The DNS header, question and optional OPT record: returns 0 for a query we could answer
 * whose bit in the miss filter is set (with the key's header and first name word written),
 * else the pass reason. */
static __always_inline int santa_parse_dns(struct xdp_md *ctx, const struct santa_settings *cfg,
			       struct santa_scratch *s, struct query *q)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *dns = data + (q->dns_off & 0x7f);
	__be16 *hdr = (__be16 *)dns;
	/* 64-bit offsets: 32-bit ones cost a zero-extension at every use. */
	__u64 msg_end = DNS_HLEN + q->msg_len, flags, off = DNS_HLEN, name_len = 0, end, qlen, name_end;
	__u64 i, max_udp, counts;
	__u8 key_flags = 0;

	if ((void *)(hdr + DNS_HLEN / 2) > data_end)
		goto malformed;
	flags = bpf_ntohs(hdr[1]);
	if (flags & (DNS_QR | DNS_OPCODE | DNS_TC)) {
		/* BIND's answers for a zone are about to change: stop serving them first. */
		if ((flags & (DNS_QR | DNS_OPCODE)) == DNS_OPCODE_UPDATE ||
		    (flags & (DNS_QR | DNS_OPCODE)) == DNS_OPCODE_NOTIFY)
			santa_zone_change(ctx, cfg, s, q->dns_off, q->msg_len);
		goto unsupported;
	}
	/* QDCOUNT 1, ANCOUNT 0, NSCOUNT 0 and ARCOUNT 0 or 1, as one word: the four counts in
	 * wire order with ARCOUNT's low bit cleared must read 1, 0, 0, 0. */
	counts = *(__u64 *)&hdr[2] & ~(__u64)WIRE_U16_AT(bpf_htons(1), 3);
	if (counts != WIRE_U16_AT(bpf_htons(1), 0))
		goto unsupported;
	q->id = hdr[0];
	q->qflags = hdr[1];
	if (flags & DNS_RD)
		key_flags |= SANTA_KEY_RD;
	if (q->is_v6)
		key_flags |= SANTA_KEY_V6;

	/* The question name: at most 127 labels plus the root fit in 255 bytes. A label byte must
	 * lie inside the message and leave room for the root label within those 255: one bound
	 * for both. */
	name_end = msg_end < DNS_HLEN + SANTA_NAME_MAX ? msg_end : DNS_HLEN + SANTA_NAME_MAX;
	for (i = 0; i < (SANTA_NAME_MAX + 1) / 2; i++) {
		__u8 *p = dns + VERIFIER_MASK(off, 0x1ff);
		__u8 label;

		if (off >= name_end || (void *)(p + 1) > data_end)
			goto malformed;
		label = *p;
		if (label == 0) {
			name_len = off + 1 - DNS_HLEN;
			break;
		}
		/* One test on the common path: pointers and reserved types are all above 63. */
		if (label > 63) {
			if ((label & 0xc0) == 0xc0)
				goto unsupported; /* compression pointer */
			goto malformed; /* reserved label types */
		}
		off += label + 1;
	}
	if (name_len == 0)
		goto malformed;
	qlen = name_len + 4;
	end = DNS_HLEN + qlen;
	if (end > msg_end)
		goto malformed;
	{
		__u8 *qtype = dns + VERIFIER_MASK(DNS_HLEN + name_len, 0x1ff);

		if ((void *)(qtype + 4) > data_end)
			goto malformed;
		MOVE(&s->key.h.qtype, qtype, __u32); /* and qclass, which follows it */
	}

	q->limit = DNS_PLAIN_UDP_MAX;
	q->cookie = COOKIE_NONE;
	q->cookie_sum = 0;
	if (hdr[5]) {
		/* OPT: root owner (1), type (2), class = UDP size (2), TTL = extended rcode (1),
		 * version (1), flags (2), rdlen (2). */
		__u8 *opt = dns + VERIFIER_MASK(end, 0x1ff);
		__u32 udp_size, rdlen;

		if (end + 11 > msg_end || (void *)(opt + 11) > data_end)
			goto malformed;
		if (opt[0] != 0 || opt[1] != 0 || opt[2] != DNS_TYPE_OPT)
			goto unsupported;
		if (opt[6] != 0)
			goto edns_version;
		if (opt[5] != 0)
			goto unsupported; /* extended rcode in a query */
		rdlen = (__u32)opt[9] << 8 | opt[10];
		end += 11 + rdlen;
		if (end > msg_end)
			goto malformed;
		if (rdlen) {
			__u32 why = parse_cookie(cfg, s, q, opt, data_end, rdlen);

			if (why)
				return why;
		}
		if (opt[7] & (EDNS_DO >> 8))
			key_flags |= SANTA_KEY_DO;
		key_flags |= SANTA_KEY_EDNS;
		udp_size = (__u32)opt[3] << 8 | opt[4];
		max_udp = cfg->max_udp_size ? cfg->max_udp_size : SANTA_REPLY_MAX;
		if (udp_size > max_udp)
			udp_size = max_udp;
		if (udp_size > q->limit)
			q->limit = udp_size;
	}
	if (end != msg_end)
		goto malformed; /* trailing bytes */

	/* The key's first name word, lower-cased, for the miss filter and then the key: the name's
	 * first 8 bytes or, for a shorter name, the 8 bytes that end it, shifted (they start inside
	 * the DNS header; the offset is masked in an asm so the compiler cannot fold the -8 into
	 * the load, which the verifier would refuse as a negative packet offset). */
	{
		__u64 at = name_len >= 8 ? DNS_HLEN : VERIFIER_MASK(DNS_HLEN + name_len - 8, 0x1ff), first;
		__u8 *p = dns + (at & 0x1ff);

		if ((void *)(p + 8) > data_end)
			goto malformed;
		first = *(__u64 *)p;
		first = lower_word(name_len >= 8 ? first : last_bytes(first, name_len));
		if (!maybe_cached(cfg, s, first, name_len))
			goto miss;
		*(__u64 *)s->key.name = first;
	}
	s->key.h.flags = key_flags;
	s->key.h.name_len = name_len;
	s->key.h.pad[0] = 0;
	s->key.h.pad[1] = 0;
	q->name_len = name_len;
	return 0;
malformed:
	return pass_reason(SANTA_CNT_PASS_MALFORMED);
unsupported:
	return pass_reason(SANTA_CNT_PASS_UNSUPPORTED);
edns_version:
	return pass_reason(SANTA_CNT_PASS_EDNS_VERSION);
miss:
	return pass_reason(SANTA_CNT_PASS_MISS);
}

/* The lookup key's name words (lower-cased; the words past the name are not cleared, only
 * ceil(name_len / 8) are compared) and its hash, for a question santa_parse_dns accepted. A
 * separate stage so the verifier meets it once, not once per name length. */
static __always_inline int santa_build_key(struct xdp_md *ctx, const struct santa_settings *cfg,
			       struct santa_scratch *s, struct query *q)
{
	/* 64-bit offsets: 32-bit ones cost a zero-extension at every use. */
	__u64 name_off = (q->dns_off & 0x7f) + DNS_HLEN;
	__u64 name_len = q->name_len, whole = name_len / 8, rest = name_len % 8, i;
	__u64 hash = cfg->hash_seed;
	void *data, *data_end;
	__u64 *name = (__u64 *)s->key.name;

	if (name_len == 0 || name_len > SANTA_NAME_MAX)
		goto malformed;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	/* The name a word at a time, lower-cased and hashed into the key (word 0 is already there:
	 * santa_parse_dns read it for the miss filter). Label lengths are <= 63, below 'A', so only
	 * name characters change. The other whole words, then the last partial word, so the loop
	 * body stays a single straight path. A partial word is the 8 bytes that end where the name
	 * ends, shifted, zeroes after the name: one load, no piecing together. */
	hash = santa_hash_u64(hash, name[0]);
	for (i = 1; i < SANTA_NAME_WORDS; i++) {
		__u64 lw;
		__u8 *p;

		if (i >= whole)
			break;
		p = data + name_off + i * 8;
		if ((void *)(p + 8) > data_end)
			goto malformed;
		lw = lower_word(*(__u64 *)p);
		name[i] = lw;
		hash = santa_hash_u64(hash, lw);
	}
	if (rest && whole) {
		/* Masked as in santa_parse_dns, for the same reason. */
		__u64 idx = VERIFIER_MASK(whole, 0x1f);
		__u64 last = VERIFIER_MASK(name_off + name_len - 8, 0x1ff);
		__u64 lw;
		__u8 *p;

		p = data + last;
		if ((void *)(p + 8) > data_end)
			goto malformed;
		lw = lower_word(last_bytes(*(__u64 *)p, rest));
		name[idx] = lw;
		hash = santa_hash_u64(hash, lw);
	}

	q->hash = santa_hash_final(santa_hash_u64(hash, *(__u64 *)&s->key.h));
	return 0;
malformed:
	return pass_reason(SANTA_CNT_PASS_MALFORMED);
}

/* The question's one's-complement sum, for the reply's UDP checksum: words as loaded, the last
 * 0..7 bytes at the front of a word of their own (read as the 8 bytes that end the question).
 * Only a hit needs it, so a miss does not pay for it. */
static __always_inline int question_sum(struct xdp_md *ctx, struct query *q)
{
	__u64 question_off = (q->dns_off & 0x7f) + DNS_HLEN;
	__u64 qlen = (q->name_len + 4) & 0x1ff, whole = qlen / 8, rest = qlen % 8, sum = 0, i;
	void *data, *data_end;
	__u8 *p;

	for (i = 0; i < SANTA_QUESTION_WORDS; i++) {
		if (i >= whole)
			break;
		/* Re-read per word: from registers kept across the loop, clang rewrites the bound
		 * check as arithmetic on data_end, which the verifier refuses. */
		data = (void *)(long)*(volatile __u32 *)&ctx->data;
		data_end = (void *)(long)*(volatile __u32 *)&ctx->data_end;
		p = data + question_off + i * 8;
		if ((void *)(p + 8) > data_end)
			return -1;
		sum += csum_word(*(__u64 *)p);
	}
	if (rest) {
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
		p = data + VERIFIER_MASK(question_off + qlen - 8, 0x1ff);
		if ((void *)(p + 8) > data_end)
			return -1;
		sum += csum_word(last_bytes(*(__u64 *)p, rest));
	}
	q->qsum = sum;
	return 0;
}

/* The whole key of a candidate entry against the query's. */
static __always_inline int key_equal(const struct santa_entry *e, const struct santa_scratch *s,
				     __u32 name_len)
{
	const __u64 *a = (const __u64 *)e->key.name, *b = (const __u64 *)s->key.name;

	if (*(const __u64 *)&e->key.h != *(const __u64 *)&s->key.h)
		return 0;
	for (__u32 i = 0; i < SANTA_NAME_WORDS; i++) {
		if (i * 8 >= name_len)
			break;
		if (a[i] != b[i])
			return 0;
	}
	return 1;
}

/* The entry for the query's key: the first way of its two groups holding its hash, then a
 * full key comparison. User space never publishes two keys with one tag in the same two
 * groups, so the first way with the tag is the only candidate, and keeps each group's entries
 * in its first ways, so a scan ends at the first empty one (a miss reads a few ways, not 16).
 * Array lookups are inlined by the verifier: no helper call. */
static __always_inline struct santa_value *lookup(const struct santa_settings *cfg,
						  struct santa_scratch *s, const struct query *q)
{
	__u64 hash = q->hash, tag = SANTA_WAY_TAG(hash);
	__u32 mask = cfg->index_mask, id = 0;
	__u32 groups[2] = { SANTA_INDEX_GROUP1(hash, mask), SANTA_INDEX_GROUP2(hash, mask) };
	struct santa_entry *e;

#pragma unroll
	for (int g = 0; g < 2; g++) {
		struct santa_index_group *grp = bpf_map_lookup_elem(&santa_index, &groups[g]);

		if (!grp)
			return NULL;
#pragma unroll
		for (int w = 0; w < SANTA_INDEX_WAYS; w++) {
			__u64 way = grp->way[w];

			if (way == 0)
				break;
			if (SANTA_WAY_TAG(way) == tag) {
				id = way & SANTA_WAY_ID_MASK;
				goto found;
			}
		}
	}
	return NULL;
found:
	id -= 1;
	e = bpf_map_lookup_elem(&santa_entries, &id);
	if (!e || !key_equal(e, s, q->name_len))
		return NULL;
	return &e->value;
}

/* Source ports named drops UDP requests from (ns_client_dropport: echo, daytime, chargen,
 * time), so that a forged query cannot start a loop between it and such a service. Asked,
 * like the blackhole, only of a question found in the cache. */
#define DROPPED_SOURCE_PORTS ((1ULL << 7) | (1ULL << 13) | (1ULL << 19) | (1ULL << 37))

static __always_inline int dropped_source_port(__be16 port)
{
	__u32 p = bpf_ntohs(port);

	return p < 64 && (DROPPED_SOURCE_PORTS >> p & 1);
}

/* A client on BIND's blackhole list: named drops its queries unanswered, so neither may XDP
 * answer them. Asked only of a question found in the cache (a miss passes anyway); an empty
 * list costs a load. */
static __always_inline int blackholed(const struct santa_settings *cfg, const struct santa_scratch *s,
				      const struct query *q)
{
	if (q->is_v6)
		return cfg->n_blackhole_v6 &&
		       address_matches(cfg->blackhole_v6, cfg->n_blackhole_v6, SANTA_MAX_BLACKHOLE, 1, 0,
				       (const __u32 *)s->v6_src);
	return cfg->n_blackhole_v4 &&
	       address_matches(cfg->blackhole_v4, cfg->n_blackhole_v4, SANTA_MAX_BLACKHOLE, 0, q->v4_src,
			       NULL);
}

/* ---- cookies ---------------------------------------------------------------------- */

static __always_inline __u64 rotl64(__u64 x, __u32 b)
{
	return (x << b) | (x >> (64 - b));
}

#define SIPROUND                                                               \
	do {                                                                   \
		v0 += v1; v1 = rotl64(v1, 13); v1 ^= v0; v0 = rotl64(v0, 32);  \
		v2 += v3; v3 = rotl64(v3, 16); v3 ^= v2;                       \
		v0 += v3; v3 = rotl64(v3, 21); v3 ^= v0;                       \
		v2 += v1; v1 = rotl64(v1, 17); v1 ^= v2; v2 = rotl64(v2, 32);  \
	} while (0)

/* Little-endian 64-bit load, as SipHash reads its key and message. */
static __always_inline __u64 le64(__u64 w)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return w;
#else
	return __builtin_bswap64(w);
#endif
}

/* SipHash-2-4 of n_words whole 8-byte words of m and a final word (the last 0..7 bytes with
 * the message length in its top byte), keyed by k; returns the digest as its 8 bytes in
 * memory order. */
static __always_inline __u64 siphash24(const __u64 *k, const __u64 *m, __u32 n_words, __u64 last)
{
	__u64 k0 = le64(k[0]), k1 = le64(k[1]);
	__u64 v0 = k0 ^ 0x736f6d6570736575ULL, v1 = k1 ^ 0x646f72616e646f6dULL;
	__u64 v2 = k0 ^ 0x6c7967656e657261ULL, v3 = k1 ^ 0x7465646279746573ULL;

#pragma unroll
	for (__u32 i = 0; i < 4; i++) {
		__u64 w = le64(m[i]);

		if (i >= n_words)
			break;
		v3 ^= w;
		SIPROUND;
		SIPROUND;
		v0 ^= w;
	}
	v3 ^= last;
	SIPROUND;
	SIPROUND;
	v0 ^= last;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return le64(v0 ^ v1 ^ v2 ^ v3);
}

/* The SipHash of RFC 9018 over s->cookie_in words 0-1 (client cookie, version, reserved,
 * timestamp) and the client address (BIND hashes the peer's address: 4 or 16 bytes). */
static __always_inline __u64 cookie_hash(const struct santa_settings *cfg, struct santa_scratch *s,
					 const struct query *q)
{
	const __u64 *key = (const __u64 *)cfg->cookie_secret;

	if (q->is_v6) {
		s->cookie_in[2] = s->v6_src[0];
		s->cookie_in[3] = s->v6_src[1];
		return siphash24(key, s->cookie_in, 4, 32ULL << 56);
	}
	/* 20 bytes: two words, then the 4 address bytes with the length in the top byte. */
	return siphash24(key, s->cookie_in, 2, 20ULL << 56 | le64(place_bytes(q->v4_src, 0, 4)));
}

/* Checks a presented server cookie and mints the reply's: 0, with s->cookie_out holding the
 * OPT rdlen and COOKIE option the reply ends with and q->cookie_sum their checksum part, or
 * SANTA_CNT_PASS_BAD_COOKIE. `tail_len` is the entry's: the option's checksum parity depends
 * on where it lands. A global function so the verifier checks SipHash once. */
__noinline int santa_cookie(const struct santa_settings *cfg, struct santa_scratch *s,
			    struct query *q, __u32 tail_len)
{
	if (!cfg || !s || !q)
		return SANTA_CNT_PASS_BAD_COOKIE;

	__u32 now = (bpf_ktime_get_ns() + cfg->clock_offset_ns) / NS_PER_SEC;
	__u8 *out = (__u8 *)s->cookie_out;
	__u64 client = s->cookie_in[0], sum = 0;

	if (q->cookie == COOKIE_CLIENT && cfg->cookie_require_server)
		return SANTA_CNT_PASS_BAD_COOKIE; /* BIND answers BADCOOKIE */
	if (q->cookie == COOKIE_SERVER) {
		__u8 *server = (__u8 *)&s->cookie_in[1];
		__u64 presented = s->cookie_in[2];
		__u32 when = (__u32)server[4] << 24 | (__u32)server[5] << 16 |
			     (__u32)server[6] << 8 | server[7];

		/* Serial-number arithmetic on 32-bit seconds, as BIND compares them. */
		if ((__s32)(when - (now + COOKIE_MAX_AHEAD)) > 0 ||
		    (__s32)(when - (now - COOKIE_MAX_AGE)) < 0)
			return SANTA_CNT_PASS_BAD_COOKIE;
		if (server[0] != COOKIE_VERSION || server[1] | server[2] | server[3])
			return SANTA_CNT_PASS_BAD_COOKIE;
		if (cookie_hash(cfg, s, q) != presented)
			return SANTA_CNT_PASS_BAD_COOKIE;
	}

	/* BIND mints with the current time on every response; so does this. */
	out[0] = 0;
	out[1] = COOKIE_OPTION_LEN;
	out[2] = 0;
	out[3] = EDNS_COOKIE;
	out[4] = 0;
	out[5] = COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN;
	__builtin_memcpy(out + 6, &client, 8);
	{
		__u8 *server = (__u8 *)&s->cookie_in[1];
		__u64 hash;

		server[0] = COOKIE_VERSION;
		server[1] = 0;
		server[2] = 0;
		server[3] = 0;
		server[4] = now >> 24;
		server[5] = now >> 16;
		server[6] = now >> 8;
		server[7] = now;
		hash = cookie_hash(cfg, s, q);
		__builtin_memcpy(out + 14, server, 8);
		__builtin_memcpy(out + 22, &hash, 8);
	}
	out[30] = 0;
	out[31] = 0;

	/* rdlen (0 in the entry) and the option, at an odd checksum offset when the question
	 * and tail add up odd: the one's-complement sum of byte-swapped words is the swapped
	 * sum. The UDP length, counted twice, grows by the option. */
	for (__u32 i = 0; i < 4; i++)
		sum += csum_word(s->cookie_out[i]);
	sum = csum_fold(sum);
	if ((q->name_len + 4 + tail_len) & 1)
		sum = ((sum & 0xff) << 8) | (sum >> 8);
	q->cookie_sum = sum + 2 * bpf_htons(COOKIE_OPTION_LEN);
	return 0;
}

/* ---- the reply --------------------------------------------------------------------- */

/* Grows the frame by `grow` bytes using both ends: as much tailroom as the driver gives, the
 * rest from the headroom. Tailroom is not visible to XDP, so a binary search finds the largest
 * tail growth (about 11 helper calls, and only on frames neither end can grow alone). All or
 * nothing: on failure the frame is as it was. */
static __always_inline int split(struct xdp_md *ctx, __u32 grow)
{
	__u32 ok = 0, bad = grow; /* tail growth known to succeed / to fail */

	for (int i = 0; i < 12; i++) {
		__u32 mid = ok + ((bad - ok) >> 1);

		if (bad - ok <= 1)
			break;
		if (bpf_xdp_adjust_tail(ctx, (int)mid) == 0) {
			bpf_xdp_adjust_tail(ctx, -(int)mid);
			ok = mid;
		} else {
			bad = mid;
		}
	}
	if (ok == 0 || bpf_xdp_adjust_tail(ctx, (int)ok))
		return -1;
	if (bpf_xdp_adjust_head(ctx, (int)ok - (int)grow) == 0)
		return 0;
	bpf_xdp_adjust_tail(ctx, -(int)ok);
	return -1;
}

/* Moves the question (qlen bytes) from frame offset `from` back to `to` (to < from), in the
 * frame as resized: whole words front to back (each store lands below the words still to be
 * read), then the 8 bytes that end the question, loaded before anything was stored (a store
 * may have covered them when the distance is under 8). Questions under 8 bytes (the root's)
 * are left to the caller. Sums the question on the way (*qsum, as question_sum() would).
 * Fails only before its first store: every word lies between the two checked first. */
static __always_inline int move_question(struct xdp_md *ctx, __u64 from, __u64 to, __u64 qlen,
					 __u64 *qsum)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 last_from, last_to, last, i, sum = 0;
	__u8 *src, *dst;

	/* The masks below must not cut a real offset short. */
	if (qlen < 8 || qlen > SANTA_QUESTION_MAX || to >= from || from + qlen > 0x7ff)
		return -1;
	last_from = VERIFIER_MASK(from + qlen - 8, 0x7ff);
	last_to = VERIFIER_MASK(to + qlen - 8, 0x7ff);
	src = data + last_from;
	dst = data + last_to;
	if ((void *)(src + 8) > data_end || (void *)(dst + 8) > data_end)
		return -1;
	last = *(__u64 *)src;
	for (i = 0; i < SANTA_QUESTION_WORDS; i++) {
		__u64 at = i * 8, w;

		if (at + 8 > qlen)
			break;
		src = data + VERIFIER_MASK(from + at, 0x7ff);
		dst = data + VERIFIER_MASK(to + at, 0x7ff);
		if ((void *)(src + 8) > data_end || (void *)(dst + 8) > data_end)
			return -1;
		w = *(__u64 *)src;
		sum += csum_word(w);
		*(__u64 *)dst = w;
	}
	dst = data + last_to;
	if ((void *)(dst + 8) > data_end)
		return -1;
	*(__u64 *)dst = last;
	if (qlen & 7)
		sum += csum_word(last_bytes(last, qlen & 7));
	*qsum = sum;
	return 0;
}

/* Resizes the frame to reply_len with the question at its reply offset. A reply longer than
 * the query grows at the head: every driver keeps headroom (XDP_PACKET_HEADROOM), moving the
 * frame's start is a pointer update, and moving the question is a few words, where growing
 * the tail also clears the new bytes (a memset call: about 40 ns against 11 here, measured
 * with test/bench/replay.ts). Otherwise (a shrinking reply, a root question, or more growth
 * than the headroom holds): the tail, where the question stays put; then the head with the
 * question saved first, then both ends; in those last cases the question is rewritten
 * (*moved). Returns 0, or -1 with the frame as it arrived. */
static __always_inline int resize(struct xdp_md *ctx, struct santa_scratch *s, struct query *q,
				  __u32 reply_len, int *moved)
{
	__u32 qlen = (q->name_len + 4) & 0x1ff;
	/* IPv4 options are not mirrored: dropping them at the front leaves the UDP datagram
	 * in place behind a 20-byte header. */
	int opt_len = q->is_v6 ? 0 : (int)(q->l3_len - sizeof(struct iphdr));
	int grow = (int)reply_len - (int)q->frame_len;
	int head_short = 0; /* the headroom alone was found too small */

	*moved = 0;
	if (grow > 0 && qlen >= 8) {
		if (bpf_xdp_adjust_head(ctx, -grow) == 0) {
			__u64 to = (q->dns_off & 0x7f) + DNS_HLEN - opt_len;

			if (move_question(ctx, to + grow + opt_len, to, qlen, &q->qsum) == 0)
				return 0;
			/* Not expected (the question lies inside the frame); nothing was stored,
			 * so the frame is as it arrived once its start is back. */
			bpf_xdp_adjust_head(ctx, grow);
			return -1;
		}
		head_short = 1;
	}
	/* The question is still where it arrived. */
	if (question_sum(ctx, q))
		return -1;
	if (opt_len == 0 || bpf_xdp_adjust_head(ctx, opt_len) == 0) {
		if (grow + opt_len == 0 || bpf_xdp_adjust_tail(ctx, grow + opt_len) == 0)
			return 0;
		if (opt_len)
			bpf_xdp_adjust_head(ctx, -opt_len);
	}

	/* The frame is as it arrived; the question moves with the headers, so keep a copy to
	 * write back (rare: only when the tailroom is short, so a helper call will do). */
	if (qlen < 5 || qlen > SANTA_QUESTION_MAX ||
	    bpf_xdp_load_bytes(ctx, (q->dns_off & 0x7f) + DNS_HLEN, s->question, qlen))
		return -1;
	*moved = 1;
	if (!head_short && bpf_xdp_adjust_head(ctx, -grow) == 0)
		return 0;
	/* Neither end has room alone: take a little from the tail and the rest from the head. */
	if (grow > 0 && split(ctx, grow) == 0)
		return 0;
	return -1;
}

/* Writes L2, IP, UDP and DNS headers, in a frame already sized for the reply. `counts` is the
 * DNS header's four section counts (8 bytes, wire). */
static __always_inline int write_headers(struct xdp_md *ctx, struct santa_scratch *s,
					 struct query *q, const void *counts,
					 __u32 udp_len, __be16 flags, __u16 udp_csum)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 l2 = q->l2_len & 0x1f;
	struct udphdr *udp;
	__be16 *dns;

	if (data + SANTA_L2_MAX > data_end)
		return -1;
	/* The whole saved L2 area: for shorter L2 headers the extra bytes land where the IP
	 * header is written next. */
	MOVE(data, s->l2, __u64);
	MOVE(data + 8, s->l2 + 8, __u64);
	MOVE(data + 16, s->l2 + 16, __u32);
	MOVE(data + 20, s->l2 + 20, __u16);

	if (q->is_v6) {
		struct ipv6hdr *ip6 = data + l2;

		if ((void *)(ip6 + 1) + sizeof(*udp) + DNS_HLEN > data_end)
			return -1;
		*(__be32 *)ip6 = bpf_htonl(0x60000000); /* version 6, traffic class and flow 0 */
		ip6->payload_len = bpf_htons(udp_len);
		ip6->nexthdr = IPPROTO_UDP;
		ip6->hop_limit = REPLY_TTL;
		move16(&ip6->saddr, s->v6_dst);
		move16(&ip6->daddr, s->v6_src);
		udp = (void *)(ip6 + 1);
	} else {
		struct iphdr *ip = data + l2;
		__u32 tot_len = sizeof(*ip) + udp_len;
		__u64 sum;

		if ((void *)(ip + 1) + sizeof(*udp) + DNS_HLEN > data_end)
			return -1;
		*(__be16 *)ip = bpf_htons(0x4500); /* version 4, IHL 5, TOS 0 */
		ip->tot_len = bpf_htons(tot_len);
		ip->id = 0;
		ip->frag_off = bpf_htons(0x4000); /* DF */
		ip->ttl = REPLY_TTL;
		ip->protocol = IPPROTO_UDP;
		ip->saddr = q->v4_dst;
		ip->daddr = q->v4_src;
		/* Host-order 16-bit words; id, checksum and fragment offset are zero. Summed in 64
		 * bits: two addresses alone can exceed 32 bits, and a lost carry is a bad checksum. */
		sum = (__u64)0x4500 + tot_len + 0x4000 + (REPLY_TTL << 8 | IPPROTO_UDP) +
		      bpf_ntohl(q->v4_src) + bpf_ntohl(q->v4_dst);
		ip->check = bpf_htons((__u16)~csum_fold(sum));
		udp = (void *)(ip + 1);
	}
	udp->source = q->dport;
	udp->dest = q->sport;
	udp->len = bpf_htons(udp_len);
	udp->check = udp_csum;
	dns = (void *)(udp + 1);
	dns[0] = q->id;
	dns[1] = flags;
	MOVE(&dns[2], counts, __u64);
	return 0;
}

/* Writes len bytes of src (an object of src_size bytes) to the frame at off, with direct 8-byte
 * stores: a helper call costs more than the copy. Four words per bound check while 32 bytes
 * remain (each check costs as much as the words it guards), then single words; the last partial
 * word is written as the 8 bytes ending at len, over bytes already written with the same
 * values. Under 8 bytes, the helper does it. */
static __always_inline int store(struct xdp_md *ctx, __u32 off, const __u8 *src, __u32 len,
				 __u32 src_size)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 i, at = 0;

	off = VERIFIER_MASK(off, 0x7ff);
	if (len > src_size)
		return -1;
	if (len < 8)
		return bpf_xdp_store_bytes(ctx, off, (void *)src, len);
	for (i = 0; i < SANTA_TAIL_MAX / 32; i++) {
		const __u64 *w = (const __u64 *)(src + i * 32);
		__u64 *p = data + off + i * 32;

		if (i * 32 + 32 > len)
			break;
		if ((void *)(p + 4) > data_end)
			return -1;
		p[0] = w[0];
		p[1] = w[1];
		p[2] = w[2];
		p[3] = w[3];
		at = i * 32 + 32;
	}
	for (i = 0; i < 3; i++) {
		__u8 *p;

		at = VERIFIER_MASK(at, 0x7ff);
		if (at + 8 > len)
			break;
		p = data + off + at;
		if ((void *)(p + 8) > data_end || at + 8 > src_size)
			return -1;
		*(__u64 *)p = *(const __u64 *)(src + at);
		at += 8;
	}
	if (len & 7) {
		__u32 last = VERIFIER_MASK(len - 8, 0x7ff);
		__u8 *p = data + off + last;

		if (last + 8 > src_size || (void *)(p + 8) > data_end)
			return -1;
		*(__u64 *)p = *(const __u64 *)(src + last);
	}
	return 0;
}

/* The reply's OPT rdlen and COOKIE option (2 + 28 bytes of s->cookie_out) at off: three
 * words, then the 8 bytes ending at the option's end. */
static __always_inline int store_cookie(struct xdp_md *ctx, __u32 off, const struct santa_scratch *s)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *p = data + VERIFIER_MASK(off, 0x7ff);
	const __u8 *src = (const __u8 *)s->cookie_out;

	if ((void *)(p + 2 + COOKIE_OPTION_LEN) > data_end)
		return -1;
	*(__u64 *)p = *(const __u64 *)src;
	*(__u64 *)(p + 8) = *(const __u64 *)(src + 8);
	*(__u64 *)(p + 16) = *(const __u64 *)(src + 16);
	*(__u64 *)(p + 2 + COOKIE_OPTION_LEN - 8) = *(const __u64 *)(src + 2 + COOKIE_OPTION_LEN - 8);
	return 0;
}

/* The part of every reply's UDP checksum that comes from the addresses, folded with `sum` into
 * the final checksum field. */
static __always_inline __u16 finish_csum(const struct santa_scratch *s, const struct query *q, __u64 sum)
{
	if (q->is_v6)
		sum += csum_word(s->v6_src[0]) + csum_word(s->v6_src[1]) +
		       csum_word(s->v6_dst[0]) + csum_word(s->v6_dst[1]);
	else
		sum += csum_word(q->v4_src) + csum_word(q->v4_dst);
	sum = (__u16)~csum_fold(sum);
	return sum ? sum : 0xffff; /* zero means "no checksum" in IPv4 and is invalid in IPv6 */
}

/* Turns the query's frame into one of reply_len bytes with the question at its reply offset:
 * L2 saved while the original is intact, then the frame resized (which sums the question into
 * q->qsum). Returns 0, or -1 with the frame as it arrived (no room). Callers compute what the
 * headers need only after it: values held across its helper calls would live on the stack. */
static __always_inline int reply_resize(struct xdp_md *ctx, struct santa_scratch *s, struct query *q,
					__u32 reply_len, int *moved)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	if (data + SANTA_L2_MAX > data_end)
		return -1;
	move6(s->l2, data + ETH_ALEN);
	move6(s->l2 + ETH_ALEN, data);
	MOVE(s->l2 + 12, data + 12, __u64);
	MOVE(s->l2 + 20, data + 20, __u16);
	return resize(ctx, s, q, reply_len, moved);
}

/* The rest of reply_resize's work: the L2/IP/UDP/DNS headers written with the UDP checksum of
 * `sum` and those, and the question rewritten when the frame moved. What follows the question
 * is the caller's. Returns 0, or -2 (the frame is no longer the query's: nothing to restore). */
static __always_inline int reply_headers(struct xdp_md *ctx, struct santa_scratch *s, struct query *q,
					 __u32 reply_len, const void *counts, __be16 flags, __u64 sum,
					 int moved)
{
	__u32 l3_len = q->is_v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr);
	__u32 udp_len = reply_len - q->l2_len - l3_len;
	__u32 qlen = (q->name_len + 4) & 0x1ff;
	__u32 q_off = q->l2_len + l3_len + sizeof(struct udphdr) + DNS_HLEN;

	BENCH_CUT_RETURN(6, -2);
	if (write_headers(ctx, s, q, counts, udp_len, flags, finish_csum(s, q, sum + q->qsum)))
		return -2;
	BENCH_CUT_RETURN(7, -2);
	/* Rare (only when the tailroom was short; resize() saved it): a helper call will do. */
	if (moved && (qlen < 5 || qlen > SANTA_QUESTION_MAX ||
		      bpf_xdp_store_bytes(ctx, q_off, s->question, qlen)))
		return -2;
	return 0;
}

static __always_inline int reply(struct xdp_md *ctx, struct santa_scratch *s, struct query *q,
				 const struct santa_value *v, __u32 dns_len)
{
	__u32 l3_len = q->is_v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr);
	__u32 reply_len = q->l2_len + l3_len + sizeof(struct udphdr) + dns_len;
	__u32 qlen = (q->name_len + 4) & 0x1ff, tail_len = v->tail_len;
	__u32 q_off = q->l2_len + l3_len + sizeof(struct udphdr) + DNS_HLEN;
	__be16 flags;
	int moved;

	if (reply_resize(ctx, s, q, reply_len, &moved))
		return -1;
	/* The checksum's parts from the entry and the query's header; reply_headers adds the
	 * question's and the addresses'. */
	flags = *(__be16 *)v->hdr | (q->qflags & bpf_htons(DNS_RD | DNS_CD));
	if (reply_headers(ctx, s, q, reply_len, &v->hdr[2], flags,
			  v->csum_const + q->id + flags + q->sport + q->dport + q->cookie_sum, moved))
		return -2;
	if (tail_len < 1 || tail_len > SANTA_TAIL_MAX ||
	    store(ctx, q_off + qlen, v->tail, tail_len, SANTA_TAIL_MAX))
		return -2;
	/* Over the OPT rdlen, which ends the entry, and on past it: the COOKIE option. */
	if (q->cookie && (tail_len < 2 || store_cookie(ctx, q_off + qlen + tail_len - 2, s)))
		return -2;
	return reply_len;
}

/* The reply to a query whose response rate limiting slipped (see rrl.h): the entry's header
 * with no records but the question and, for an EDNS query, the entry's OPT. TC=1 tells the
 * client to retry over TCP; to a client that sent a cookie BIND answers BADCOOKIE instead
 * (AA and AD clear), with a fresh server cookie (s->cookie_out, minted by santa_cookie).
 * Returns the frame length, -1 with the frame untouched, or -2 once it is ours. */
static __always_inline int slip(struct xdp_md *ctx, struct santa_scratch *s, struct query *q,
				const struct santa_value *v)
{
	__u32 l3_len = q->is_v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr);
	__u32 qlen = (q->name_len + 4) & 0x1ff, tail_len = v->tail_len, opt_len = 0;
	__u32 q_off = q->l2_len + l3_len + sizeof(struct udphdr) + DNS_HLEN;
	__u32 dns_len, udp_len, reply_len;
	__u8 *t = (__u8 *)s->slip_tail;
	__be16 counts[4] = { bpf_htons(1), 0, 0, 0 };
	__u64 tsum = 0;
	__be16 flags;
	int moved;

	flags = *(__be16 *)v->hdr | (q->qflags & bpf_htons(DNS_RD | DNS_CD));
	if (q->cookie) {
		flags &= ~bpf_htons(DNS_AA | DNS_AD | DNS_TC | DNS_RCODE);
		flags |= bpf_htons(DNS_BADCOOKIE & DNS_RCODE);
	} else {
		/* BIND decides to slip before building the answer: AA is still set as it is at the
		 * start of every query (even for a referral), and the rcode is NOERROR unless it
		 * already knew the name does not exist. */
		flags |= bpf_htons(DNS_AA | DNS_TC);
		if (v->rrl_kind != SANTA_RRL_NXDOMAIN)
			flags &= ~bpf_htons(DNS_RCODE);
	}
	__builtin_memset(t, 0, sizeof(s->slip_tail));
	if (s->key.h.flags & SANTA_KEY_EDNS) {
		__u32 at = tail_len - OPT_RR_LEN;

		/* The codec guarantees the entry ends with its OPT record. */
		if (tail_len < OPT_RR_LEN || at > SANTA_TAIL_MAX - OPT_RR_LEN)
			return -1;
		__builtin_memcpy(t, v->tail + at, OPT_RR_LEN);
		opt_len = OPT_RR_LEN;
		if (q->cookie) {
			t[5] = DNS_BADCOOKIE >> 4; /* the OPT TTL's extended-rcode byte */
			/* rdlen and the COOKIE option, over the entry's rdlen of 0 */
			__builtin_memcpy(t + OPT_RR_LEN - 2, s->cookie_out, 2 + COOKIE_OPTION_LEN);
			opt_len += COOKIE_OPTION_LEN;
		}
		counts[3] = bpf_htons(1);
	}
	dns_len = DNS_HLEN + qlen + opt_len;
	udp_len = sizeof(struct udphdr) + dns_len;
	reply_len = q->l2_len + l3_len + udp_len;

	/* The whole UDP checksum: nothing of the entry's precomputed sum applies. */
	for (__u32 i = 0; i < sizeof(s->slip_tail) / 8; i++)
		tsum += csum_word(s->slip_tail[i]);
	tsum = csum_fold(tsum);
	if (qlen & 1) /* the OPT starts at an odd offset: its bytes pair up the other way */
		tsum = ((tsum & 0xff) << 8) | (tsum >> 8);
	if (reply_resize(ctx, s, q, reply_len, &moved))
		return -1;
	if (reply_headers(ctx, s, q, reply_len, counts, flags,
			  tsum + q->id + flags + counts[0] + counts[3] + q->sport + q->dport +
			  2 * bpf_htons(udp_len) + bpf_htons(IPPROTO_UDP), moved))
		return -2;
	if (opt_len == OPT_RR_LEN && bpf_xdp_store_bytes(ctx, q_off + qlen, t, OPT_RR_LEN))
		return -2;
	if (opt_len == OPT_RR_LEN + COOKIE_OPTION_LEN &&
	    bpf_xdp_store_bytes(ctx, q_off + qlen, t, OPT_RR_LEN + COOKIE_OPTION_LEN))
		return -2;
	return reply_len;
}

/* ---- entry point ------------------------------------------------------------------- */

SEC("xdp")
int santa_xdp(struct xdp_md *ctx)
{
	__u32 zero = 0, mode, dns_len;
	const struct santa_rrl_config *rrl;
	struct santa_settings *cfg;
	struct santa_scratch *s;
	struct santa_stats *st;
	struct santa_value *v;
	struct query *q;
	__u64 *hits;
	__u32 why;
	int sent;

	st = bpf_map_lookup_elem(&santa_stats, &zero);
	cfg = bpf_map_lookup_elem(&santa_settings, &zero);
	s = bpf_map_lookup_elem(&santa_scratch, &zero);
	if (!st || !cfg || !s)
		return XDP_PASS;
	st->counters[SANTA_CNT_PACKETS]++;
	/* Not cleared: every field is written on the way to where it is read. */
	q = &s->q;

	mode = cfg->mode;
	if (mode != SANTA_MODE_ON && mode != SANTA_MODE_DRY_RUN)
		goto disabled;
	why = santa_parse_headers(ctx, cfg, s, q, st);
	if (why)
		goto pass;
	BENCH_CUT(1);
	STAGE_BOUNDARY();
	why = santa_parse_dns(ctx, cfg, s, q);
	if (why)
		goto pass;
	BENCH_CUT(2);
	STAGE_BOUNDARY();
	why = santa_build_key(ctx, cfg, s, q);
	if (why)
		goto pass;
	BENCH_CUT(3);
	STAGE_BOUNDARY();

	v = lookup(cfg, s, q);
	/* An entry with an impossible tail cannot be served; treat it as absent. */
	if (!v || v->tail_len == 0 || v->tail_len > SANTA_TAIL_MAX)
		goto miss;
	if (dropped_source_port(q->sport))
		goto unsupported;
	if (blackholed(cfg, s, q))
		goto blackhole;
	if (v->expires_jiffies <= bpf_jiffies64())
		goto expired;
	{
		/* An UPDATE or NOTIFY for the entry's zone since it was verified (santa_zone_change). */
		__u32 *gen = bpf_map_lookup_elem(&santa_zone_gens, &v->zone_slot);

		if (!gen || *gen != v->zone_gen)
			goto zone_changed;
	}
	BENCH_CUT(4);
	dns_len = DNS_HLEN + q->name_len + 4 + v->tail_len;
	if (q->cookie) {
		why = santa_cookie(cfg, s, q, v->tail_len);
		if (why)
			goto pass;
		/* The entry must end with an option-less OPT for the COOKIE option to follow it
		 * (the codec refuses anything else; this keeps a bad value from being served). */
		{
			__u32 at = v->tail_len - 2;

			if (at > SANTA_TAIL_MAX - 2 || v->tail[at] | v->tail[at + 1])
				goto unsupported;
		}
		dns_len += COOKIE_OPTION_LEN;
	}
	if (dns_len > q->limit)
		goto too_big;
	/* named holds replies to queries without a valid server cookie (one that reached here is
	 * valid: santa_cookie passes the others) to its nocookie-udp-size. */
	if (q->cookie != COOKIE_SERVER && cfg->nocookie_udp_size && dns_len > cfg->nocookie_udp_size)
		goto too_big;
	/* Read again rather than kept: a register held from the start costs a spill on every hit.
	 * A mode switched in between applies from here on, as it would to the next packet. */
	if (cfg->mode == SANTA_MODE_DRY_RUN)
		goto dry_run;
	/* Response rate limiting; a valid server cookie (checked above) is exempt, as in BIND. */
	if (q->cookie != COOKIE_SERVER && (rrl = santa_rrl_config_on())) {
		struct santa_rrl_input in = {
			.v6_src = (const __u32 *)s->v6_src,
			.v4_src = q->v4_src,
			.id = v->rrl_id,
			.kind = v->rrl_kind,
			.is_v6 = q->is_v6,
		};

		switch (santa_rrl(rrl, &in)) {
		case SANTA_RRL_DROP:
			st->counters[SANTA_CNT_RRL_DROPPED]++;
			return XDP_DROP;
		case SANTA_RRL_SLIP:
			sent = slip(ctx, s, q, v);
			/* Not `goto no_room`: sharing that block with the reply's made clang 14 spend
			 * 14 more instructions on every hit (counted by test/bench/xdp-path.ts). */
			if (sent == -1) {
				why = SANTA_CNT_PASS_NO_ROOM;
				goto pass;
			}
			if (sent < 0)
				return XDP_ABORTED;
			st->counters[SANTA_CNT_RRL_SLIPPED]++;
			st->counters[SANTA_CNT_TX_BYTES] += sent;
			return XDP_TX;
		case SANTA_RRL_WOULD_LIMIT:
			st->counters[SANTA_CNT_RRL_WOULD_LIMIT]++;
			break;
		}
	}

	BENCH_CUT(5);
	sent = reply(ctx, s, q, v, dns_len);
	if (sent == -1)
		goto no_room;
	if (sent < 0)
		return XDP_ABORTED; /* cannot happen once sized; visible in xdp:xdp_exception */

	hits = bpf_map_lookup_elem(&santa_hits, &v->slot);
	if (hits)
		(*hits)++;
	st->counters[SANTA_CNT_HITS]++;
	st->counters[SANTA_CNT_TX_BYTES] += sent;
	return XDP_TX;

disabled:
	why = pass_reason(SANTA_CNT_PASS_DISABLED);
	goto pass;
miss:
	why = pass_reason(SANTA_CNT_PASS_MISS);
	goto pass;
expired:
	why = pass_reason(SANTA_CNT_PASS_EXPIRED);
	goto pass;
zone_changed:
	why = pass_reason(SANTA_CNT_PASS_ZONE_CHANGED);
	goto pass;
too_big:
	why = pass_reason(SANTA_CNT_PASS_TOO_BIG);
	goto pass;
blackhole:
	why = pass_reason(SANTA_CNT_PASS_BLACKHOLE);
	goto pass;
unsupported:
	why = pass_reason(SANTA_CNT_PASS_UNSUPPORTED);
	goto pass;
dry_run:
	why = pass_reason(SANTA_CNT_DRY_RUN_HITS);
	goto pass;
no_room:
	why = pass_reason(SANTA_CNT_PASS_NO_ROOM);
	goto pass;
pass:
	{
		/* The stages return counter indices; the mask shows the verifier the bound. */
		__u64 idx = VERIFIER_MASK(why, 0x1f);

		if (idx >= SANTA_COUNTER_MAX)
			idx = SANTA_CNT_PASS_MALFORMED; /* unreachable: every reason is a counter */
		st->counters[idx]++;
	}
	return XDP_PASS;
}
