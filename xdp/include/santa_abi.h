/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * santa_abi.h: the one definition of every map layout shared by the XDP program
 * (xdp/santa.bpf.c) and user space (the native binding exports sizes, offsets and enum
 * values computed from this file, and the TypeScript codecs read them from there).
 *
 * Byte order: fields marked "wire" hold bytes exactly as they appear in a DNS packet
 * (network order); every other integer is in host order.
 */
#ifndef SANTA_ABI_H
#define SANTA_ABI_H

#ifdef __bpf__
#include <linux/types.h>
#else
#include <linux/types.h>
#include <stddef.h>
#endif

/* ---- limits ------------------------------------------------------------------------ */

/* A wire-format name, root label included, is at most 255 bytes (RFC 1035 3.1). */
#define SANTA_NAME_MAX 255

/* BIND 9.18 never sends a UDP response larger than its max-udp-size (default 1232), so no
 * cached reply is larger either. Header (12) + shortest question (1 + 4) leaves 1215 bytes
 * for the sections; rounded up to keep the value 8-byte aligned. */
#define SANTA_REPLY_MAX 1232
#define SANTA_TAIL_MAX 1216

#define SANTA_MAX_PORTS 8
#define SANTA_MAX_ADDRS 8
#define SANTA_MAX_BLACKHOLE 16 /* prefixes per address family */

/* ---- the cache ------------------------------------------------------------------------
 *
 * Two BPF_F_MMAPABLE arrays, so that a lookup is a few inlined loads (no helper call, no
 * generic hash of a long key) and user space writes entries straight into map memory:
 *
 *   santa_entries: struct santa_entry[], each a complete key and value, addressed by id.
 *   santa_index:   struct santa_index_group[] (a power of two), an open-addressed table of
 *                  entry ids. A key's 64-bit hash picks two groups (SANTA_INDEX_GROUP1/2);
 *                  the entry sits in a way of one of them as SANTA_INDEX_WAY(hash, id): the
 *                  hash's top 36 bits beside the id.
 *
 * Publication protocol (user space is the only writer): an entry is written completely while
 * no way refers to it, then one aligned 8-byte store into the index publishes it. Replacing
 * an entry's reply publishes a new id in the same way; removal stores 0. An id no longer
 * referenced is reused only after an RCU grace period (every program run that could have read
 * the old way has ended; where the kernel cannot wait for one, after SANTA_REUSE_DELAY_MS), so
 * a program never reads an entry while it is being rewritten. Only the lease
 * (expires_jiffies, 8 aligned bytes) is updated in place.
 *
 * The program compares the whole key of the entry it finds (header word and every name word)
 * with the query's: a hash collision costs a comparison, never a wrong answer. */
#define SANTA_NAME_BUF 256         /* name buffer: a 255-byte name and zero padding */
#define SANTA_NAME_WORDS (SANTA_NAME_BUF / 8)
#define SANTA_INDEX_WAYS 8         /* ways per group: 64 bytes, one cache line */
#define SANTA_REUSE_DELAY_MS 2000

/* Default sizes in the object file (16,384 cached questions, plus an eighth spare for entries
 * replaced while their old slot waits for its grace period); loaders may resize both before
 * load (the index to a power of two, at least twice the entries in ways). The program masks
 * with santa_settings.index_mask. */
#define SANTA_ENTRIES_DEFAULT 18432
#define SANTA_INDEX_GROUPS_DEFAULT 8192

/* Query bits that select a distinct BIND response. */
#define SANTA_KEY_RD 0x01   /* minimal-responses no-auth-recursive drops authority */
#define SANTA_KEY_EDNS 0x02 /* an OPT record was sent (the reply carries one too) */
#define SANTA_KEY_DO 0x04   /* DNSSEC OK */
/* The query came over IPv6. BIND renders with the client's own address family preferred, so the
 * additional section of a response carrying both A and AAAA glue is ordered per family. */
#define SANTA_KEY_V6 0x08

struct santa_key_hdr {
	__be16 qtype;   /* wire */
	__be16 qclass;  /* wire */
	__u8 flags;     /* SANTA_KEY_* */
	__u8 name_len;  /* wire name length, root label included (1..255) */
	__u8 pad[2];    /* zero */
};

/* The name is lower-cased (ASCII A-Z only, as DNS compares) and zero-padded: wire names are
 * self-delimiting, so the padding is unambiguous and equal keys are equal bytes. */
struct santa_key {
	struct santa_key_hdr h;
	__u8 name[SANTA_NAME_BUF];
};

/* A reply is: the query's own 12-byte header slot (ID kept), the stored header bytes 2..11,
 * the query's question bytes exactly as received (0x20 case kept), then `tail`: the answer,
 * authority and additional sections, ending with the OPT record when the key has
 * SANTA_KEY_EDNS. Owner names in the tail may point at offset 12 (the question name). */
struct santa_value {
	/* lease, against bpf_jiffies64() (user space converts; a lease is seconds, a jiffy a
	 * few ms); an expired entry passes */
	__u64 expires_jiffies;
	__u32 slot;        /* index into santa_hits, owned by this entry while installed */
	__u16 tail_len;    /* bytes of tail used (1..SANTA_TAIL_MAX) */
	/* csum_const: the 16-bit one's-complement sum (not complemented), stored as the bytes
	 * of a big-endian number, of every part of the reply's UDP checksum that does not
	 * depend on the query: header bytes 4..11 (the four counts), the tail at its offset in
	 * the datagram (odd when the name length is odd), the UDP length counted twice (UDP
	 * header and pseudo-header) and the pseudo-header's protocol number 17. The program adds
	 * the ID, the final flags word, the question bytes, addresses and ports. */
	__be16 csum_const;
	__u8 hdr[10];      /* header bytes 2..11: flags (RD per key, CD clear), counts; wire */
	/* Response rate limiting: which token bucket a reply from this entry draws on (see the
	 * RRL section below). Computed by user space from the question and the response. */
	__u8 rrl_kind;     /* enum santa_rrl_kind */
	__u8 pad;          /* zero */
	__u32 rrl_id;      /* identity of the response within its kind (a hash; 0 for errors) */
	/* The zone change guard (below): the entry's zone's slot in santa_zone_gens and that slot's
	 * generation when user space read it, before it checked the entry against BIND. A hit
	 * requires the slot to hold this generation still. */
	__u32 zone_slot;
	__u32 zone_gen;
	__u8 tail[SANTA_TAIL_MAX];
};

struct santa_entry {
	struct santa_key key;
	struct santa_value value;
};

/* A way: 0 when empty, else the hash's tag (its top 36 bits, in place) | (entry id + 1). Two
 * keys whose tags are equal cannot share a group pair (user space refuses the second; with 36
 * tag bits and groups from other bits of the hash that is a few in a billion per insert), so
 * the first way holding a key's tag is its only candidate. A group's occupied ways come first:
 * the program stops at the first empty way. User space fills a group's first empty way, and on
 * removal moves the group's last entry into the hole (stored there first, then cleared where
 * it was: a program scanning meanwhile can only miss it, never find something wrong). */
struct santa_index_group {
	__u64 way[SANTA_INDEX_WAYS];
};

#define SANTA_WAY_ID_BITS 28
#define SANTA_WAY_ID_MASK ((1ULL << SANTA_WAY_ID_BITS) - 1)
#define SANTA_WAY_TAG(hash) ((__u64)(hash) >> SANTA_WAY_ID_BITS)
#define SANTA_INDEX_WAY(hash, id) (SANTA_WAY_TAG(hash) << SANTA_WAY_ID_BITS | ((__u64)(id) + 1))
#define SANTA_INDEX_GROUP1(hash, mask) ((__u32)(hash) & (mask))
#define SANTA_INDEX_GROUP2(hash, mask) ((__u32)((hash) >> 12) & (mask))

/* The key hash: one multiply per 64-bit word (the name is already in registers a word at a time)
 * and a final mix, seeded per load by santa_settings.hash_seed so that nobody can aim names at
 * one group. Input: the zero-padded name as host-order 64-bit words, ceil(name_len / 8) of them,
 * then the key header as one host-order 64-bit word. Only its spread matters: every candidate's
 * key is compared in full. The program and user space (through the binding) use these. */
#define SANTA_HASH_MUL 0x9e3779b97f4a7c15ULL

static inline __attribute__((always_inline)) __u64 santa_hash_u64(__u64 h, __u64 w)
{
	h = (h ^ w) * SANTA_HASH_MUL;
	return h ^ (h >> 29);
}

static inline __attribute__((always_inline)) __u64 santa_hash_final(__u64 h)
{
	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93ULL;
	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93ULL;
	h ^= h >> 32;
	return h;
}

/* ---- the miss filter (santa_filter: BPF_F_MMAPABLE array of __u64 words) ---------------
 *
 * A bitmap that says which questions may be cached: a query whose bit is clear passes as a
 * miss before the program builds its key (lower-casing and hashing every name word), which
 * is most of what a miss costs. A bit is a function of the question's first name word,
 * name length, type and class, not of the query's flags or the hash seed: one bit serves
 * every variant of a question, and names that share their first 8 bytes and length share a
 * bit (a set bit only means "look it up"). User space is the only writer: it counts the
 * installed keys per bit, sets a bit before publishing the first key that needs it and clears
 * it once no published key does (word stores, 8 aligned bytes). A query that races a change
 * can only pass to BIND, never get a wrong answer: the index and the full key decide hits.
 *
 * Size: a power of two of words, chosen by the loader for the cache (about 16 bits per entry:
 * with n cached questions in 2^k bits, a share of about n / 2^k of the misses is looked up
 * anyway); santa_settings.filter_shift says how many bits (2^(64 - shift)), and 0 there
 * (settings not written yet) turns the filter off: every query is looked up. */
#define SANTA_FILTER_WORDS_DEFAULT 4096    /* 2^18 bits, 32 KiB: the default cache's 16k entries */
#define SANTA_FILTER_WORDS_MAX (1U << 26)  /* 2^32 bits: a bit is a 32-bit number */
#define SANTA_FILTER_SHIFT_MIN 32          /* 2^32 bits */
#define SANTA_FILTER_SHIFT_MAX 58          /* 2^6 bits, one word */
#define SANTA_FILTER_MUL_WORD 0x9e3779b97f4a7c15ULL
#define SANTA_FILTER_MUL_REST 0xbf58476d1ce4e5b9ULL

/* first: the name's first 8 bytes, lower-cased, as a host-order word (zero past a shorter
 * name); type_class: the key header's first 4 bytes (qtype, qclass) as a host-order word;
 * shift: 64 - log2 of the filter's bits (SANTA_FILTER_SHIFT_MIN..MAX). The top bits of the
 * sum: only a product's top bits depend on every bit of its inputs. */
static inline __attribute__((always_inline)) __u32 santa_filter_bit(__u64 first, __u32 type_class,
								    __u32 name_len, __u64 shift)
{
	__u64 h = first * SANTA_FILTER_MUL_WORD +
		  ((__u64)type_class << 8 | name_len) * SANTA_FILTER_MUL_REST;

	return (__u32)(h >> shift);
}

/* ---- the zone change guard (santa_zone_gens: BPF_F_MMAPABLE array of __u32) -------------
 *
 * A dynamic update (opcode UPDATE) or a NOTIFY (a primary telling a secondary its zone changed)
 * on its way to BIND says the zone's data is about to change inside BIND, before any file does
 * and before user space could hear of it. The program bumps the zone's generation as it passes
 * such a message to BIND, and every entry of that zone stops hitting at once: an entry carries
 * the generation its answer was verified under (santa_value.zone_gen), and a hit requires the
 * same. User space sees the bump, withdraws the zone and verifies it again once BIND has
 * applied the change.
 *
 * A zone's slot: the key hash (santa_hash_*, seeded) of the question (apex, SOA, IN) with no
 * query bits, its low bits masked to the array's size. Zones that share a slot share bumps:
 * one's change withdraws both, never neither. Slot contents only grow (by the program, atomically);
 * user space never writes them. */
#define SANTA_ZONE_GENS 4096
#define SANTA_ZONE_SLOT(hash) ((__u32)(hash) & (SANTA_ZONE_GENS - 1))
#define SANTA_DNS_TYPE_SOA 6
#define SANTA_DNS_CLASS_IN 1

/* ---- per-entry hit counters ------------------------------------------------------------
 * santa_hits: BPF_MAP_TYPE_PERCPU_ARRAY of __u64, indexed by santa_value.slot. Counts replies
 * served (not dry-run would-be hits). User space sums CPUs, keeps deltas, and zeroes a slot
 * before giving it to a new entry, so renewing a lease never loses counts. */

/* ---- address match lists ---------------------------------------------------------------
 * BIND's address match lists, as far as literal prefixes go: the first element whose prefix
 * holds the address decides, "yes" or, when negated, "no"; none holding it is "no". User space
 * flattens named ACLs and nested lists into this form where that keeps their meaning. */
struct santa_prefix {
	__u8 addr[16];   /* wire; IPv4 in the first 4 bytes, already masked */
	__u8 mask[16];   /* wire; the prefix as a byte mask */
	__u8 negated;    /* 1 for "!prefix" */
	__u8 pad[3];
};

/* ---- settings (santa_settings: BPF_MAP_TYPE_ARRAY, one element) ----------------------- */
enum santa_mode {
	SANTA_MODE_OFF = 0,      /* pass everything untouched */
	SANTA_MODE_DRY_RUN = 1,  /* full decision, count would-be hits, still pass */
	SANTA_MODE_ON = 2,
};

struct santa_settings {
	__u32 mode;            /* enum santa_mode */
	/* The cache index: groups - 1 (santa_index has a power of two of them; 0 with a one-group
	 * index) and the key hash seed. Written by user space before any entry is installed; the
	 * seed never changes while entries exist. */
	__u32 index_mask;
	__u32 hash_seed;
	__u32 filter_shift;    /* 64 - log2 of santa_filter's bits; 0: no filter */
	__u16 max_udp_size;    /* BIND's max-udp-size; 0 means 1232 */
	__u8 n_ports;          /* 0 means port 53 only */
	__u8 n_v4;             /* 0 means any destination address */
	__be16 ports[SANTA_MAX_PORTS];       /* wire */
	__be32 v4_addrs[SANTA_MAX_ADDRS];    /* wire */
	__u8 n_v6;             /* 0 means any destination address */
	__u8 pad[7];
	__u8 v6_addrs[SANTA_MAX_ADDRS][16];  /* wire */
	/* DNS cookies (RFC 7873) answered as BIND 9.18 does with cookie-algorithm siphash24
	 * (RFC 9018): a query whose OPT carries only a COOKIE option can hit, and its reply
	 * carries a server cookie BIND accepts. Off: such queries pass (SANTA_CNT_PASS_EDNS_OPTIONS). */
	__u8 cookie_on;        /* 1 when cookie_secret and clock_offset_ns are set */
	/* BIND's require-server-cookie: a query with only a client cookie gets BADCOOKIE from
	 * BIND, so only valid server cookies may hit. */
	__u8 cookie_require_server;
	__u8 pad2[6];
	__u8 cookie_secret[16];  /* BIND's first cookie-secret, bytes as the hex reads (SipHash key) */
	/* The program has only bpf_ktime_get_ns (CLOCK_MONOTONIC); cookie timestamps are wall
	 * seconds. User space writes CLOCK_REALTIME - CLOCK_MONOTONIC in ns and refreshes it, so
	 * one aligned 64-bit store keeps the pair consistent for readers. */
	__u64 clock_offset_ns;
	/* BIND's blackhole list: named drops queries from these clients unanswered, so a cached
	 * question from one of them passes (SANTA_CNT_PASS_BLACKHOLE) for named to drop. Checked
	 * only once a question is found in the cache: a miss passes anyway. */
	__u8 n_blackhole_v4;
	__u8 n_blackhole_v6;
	/* BIND's nocookie-udp-size (as named clamps it: 128..max-udp-size): a reply to a query
	 * without a valid server cookie must also fit in this many bytes; 0: no such limit. */
	__u16 nocookie_udp_size;
	__u8 pad3[4];
	struct santa_prefix blackhole_v4[SANTA_MAX_BLACKHOLE];
	struct santa_prefix blackhole_v6[SANTA_MAX_BLACKHOLE];
};

/* ---- counters (santa_stats: BPF_MAP_TYPE_PERCPU_ARRAY, one element) -------------------
 * Every packet is counted in SANTA_CNT_PACKETS and then in exactly one of: a PASS_* reason,
 * SANTA_CNT_HITS, SANTA_CNT_DRY_RUN_HITS (which passes too), SANTA_CNT_RRL_DROPPED or
 * SANTA_CNT_RRL_SLIPPED. */
enum santa_counter {
	SANTA_CNT_PACKETS = 0,
	SANTA_CNT_DNS_QUERIES,       /* UDP to a served port and address */
	SANTA_CNT_HITS,              /* replied with XDP_TX */
	SANTA_CNT_DRY_RUN_HITS,      /* would have replied; passed (dry-run mode) */
	SANTA_CNT_TX_BYTES,          /* frame bytes of replies sent */
	SANTA_CNT_PASS_DISABLED,     /* mode off */
	SANTA_CNT_PASS_NOT_DNS,      /* not IP/UDP to a served port and address */
	SANTA_CNT_PASS_FRAGMENT,     /* IPv4 fragment or IPv6 fragment header */
	SANTA_CNT_PASS_MALFORMED,    /* lengths or names that do not parse */
	SANTA_CNT_PASS_UNSUPPORTED,  /* parses, but not a plain query we can answer like BIND */
	SANTA_CNT_PASS_EDNS_VERSION, /* EDNS version != 0: BIND answers BADVERS */
	SANTA_CNT_PASS_EDNS_OPTIONS, /* OPT carries options */
	SANTA_CNT_PASS_MISS,         /* no entry */
	SANTA_CNT_PASS_EXPIRED,      /* entry whose lease ran out */
	SANTA_CNT_PASS_TOO_BIG,      /* reply larger than the client's UDP limit */
	SANTA_CNT_PASS_NO_ROOM,      /* the driver could not grow the frame enough */
	/* COOKIE option that is malformed, or with a server cookie that is not one this secret
	 * minted for this client within BIND's window (1 hour old to 5 minutes ahead): BIND
	 * decides (fresh cookie, or BADCOOKIE under require-server-cookie). */
	SANTA_CNT_PASS_BAD_COOKIE,
	/* Response rate limiting (santa_rrl_config): a query whose reply was over its rate. */
	SANTA_CNT_RRL_DROPPED,       /* dropped (XDP_DROP): neither the reply nor BIND answers */
	SANTA_CNT_RRL_SLIPPED,       /* answered truncated (TC=1), or BADCOOKIE to a cookie client */
	/* log-only: would have been dropped or slipped, answered in full (also counted in HITS) */
	SANTA_CNT_RRL_WOULD_LIMIT,
	/* The entry's zone changed since the entry was verified (see the zone change guard). */
	SANTA_CNT_PASS_ZONE_CHANGED,
	/* UPDATE or NOTIFY messages for a zone, seen on their way to BIND (each also counted as
	 * SANTA_CNT_PASS_UNSUPPORTED): generations bumped. */
	SANTA_CNT_ZONE_CHANGES,
	/* The same, seen on the loopback device by santa_lo_guard (a tc program, not santa_xdp:
	 * these packets never reach santa_xdp and are in none of its other counters). */
	SANTA_CNT_LOOPBACK_ZONE_CHANGES,
	/* A cached question from a client on BIND's blackhole list (santa_settings.blackhole_*):
	 * passed, for named to drop. */
	SANTA_CNT_PASS_BLACKHOLE,
	SANTA_COUNTER_MAX,
};

struct santa_stats {
	__u64 counters[SANTA_COUNTER_MAX];
};

/* ---- the kernel clock (xdp/clock.bpf.c, santa_clock: BPF_MAP_TYPE_ARRAY, one element) ----
 * Leases are in jiffies, which the program reads for free (bpf_jiffies64 is inlined; reading
 * the monotonic clock is a helper call). User space maps its monotonic clock to jiffies from
 * samples of both that the probe program takes in one run. */
struct santa_clock_sample {
	__u64 jiffies;
	__u64 ktime_ns;
};

/* Map names, as pinned and as bpfman exposes them under its map_pin_path. */
#define SANTA_MAP_ENTRIES "santa_entries"
#define SANTA_MAP_INDEX "santa_index"
#define SANTA_MAP_HITS "santa_hits"
#define SANTA_MAP_SETTINGS "santa_settings"
#define SANTA_MAP_STATS "santa_stats"
#define SANTA_MAP_FILTER "santa_filter"
#define SANTA_PROG_NAME "santa_xdp"
/* The zone change guard on the loopback device (tc ingress, direct action), and where it sits
 * among that hook's filters: its own handle at a priority few setups use. */
#define SANTA_GUARD_PROG_NAME "santa_lo_guard"
#define SANTA_GUARD_TC_HANDLE 0x53a4
#define SANTA_GUARD_TC_PRIORITY 0x53a4
#define SANTA_MAP_CLOCK "santa_clock"
#define SANTA_MAP_ZONE_GENS "santa_zone_gens"

/* ---- response rate limiting (RRL) -------------------------------------------------------
 *
 * BIND's rate-limit {} for the replies XDP sends (BIND never sees them): per client netblock
 * and response identity a token bucket, credited `rate` tokens per whole second up to `rate`,
 * debited one per reply, floored at -window * rate. A reply over the limit is dropped, or
 * every slip-th one "slips" out truncated. The algorithm and where it deviates from BIND are
 * described in xdp/rrl.h; sidecar/rrl/model.ts is its reference model. */
enum santa_rrl_kind {
	SANTA_RRL_RESPONSE = 0,  /* positive answer: identity = (qname, qtype, qclass) */
	SANTA_RRL_NXDOMAIN,      /* identity = the zone (SOA owner), not the qname */
	SANTA_RRL_NODATA,        /* identity = (qname, qclass) */
	SANTA_RRL_REFERRAL,      /* identity = (delegation point, qclass) */
	SANTA_RRL_ERROR,         /* identity = none (BIND keys errors on the client alone) */
	SANTA_RRL_KIND_COUNT,
	SANTA_RRL_ALL = SANTA_RRL_KIND_COUNT, /* all-per-second: bucket key kind, identity 0 */
};

#define SANTA_RRL_MAX_EXEMPT 8

/* santa_rrl_config: BPF_MAP_TYPE_ARRAY, one element. on == 0 costs the program one load. */
struct santa_rrl_config {
	__u8 on;
	__u8 log_only;   /* count what would be limited, answer everything */
	__u8 slip;       /* 0..10; 0 never slips */
	__u8 n_exempt_v4;
	__u8 n_exempt_v6;
	__u8 pad[3];
	/* bpf_jiffies64() ticks per second (the kernel's CONFIG_HZ), for whole-second time */
	__u32 hz;
	__u32 window;    /* seconds, 1..3600 */
	__u32 rate[SANTA_RRL_KIND_COUNT]; /* per second, by enum santa_rrl_kind; 0: no limit */
	__u32 all_rate;  /* all-per-second; 0: none */
	__be32 v4_mask;  /* wire; ipv4-prefix-length as a mask */
	__u8 v6_mask[16];/* wire; ipv6-prefix-length as a byte mask */
	/* exempt-clients (an address match list): never limited */
	struct santa_prefix exempt_v4[SANTA_RRL_MAX_EXEMPT];
	struct santa_prefix exempt_v6[SANTA_RRL_MAX_EXEMPT];
};

/* santa_rrl_buckets: BPF_MAP_TYPE_LRU_HASH from santa_rrl_key to santa_rrl_bucket. */
struct santa_rrl_key {
	__u8 addr[16];   /* wire; the client address masked to its prefix (IPv4: first 4 bytes) */
	__u32 id;        /* santa_value.rrl_id; 0 for SANTA_RRL_ALL */
	__u8 kind;       /* enum santa_rrl_kind, or SANTA_RRL_ALL */
	__u8 family;     /* 4 or 6 */
	__u8 pad[2];     /* zero */
};

struct santa_rrl_bucket {
	__s32 balance;   /* tokens left (BIND's "responses"); negative while limiting */
	__u32 ts;        /* second of the last debit, as bpf_jiffies64() / hz */
	__u32 slip_cnt;  /* limited replies since the last slip */
	__u32 pad;
};

#define SANTA_MAP_RRL_CONFIG "santa_rrl_config"
#define SANTA_MAP_RRL_BUCKETS "santa_rrl_buckets"

#ifndef __bpf__
_Static_assert(sizeof(struct santa_key_hdr) == 8, "key header layout");
_Static_assert(sizeof(struct santa_key) == 8 + SANTA_NAME_BUF, "key layout");
_Static_assert(sizeof(struct santa_value) == 40 + SANTA_TAIL_MAX, "value layout");
_Static_assert((SANTA_ZONE_GENS & (SANTA_ZONE_GENS - 1)) == 0, "zone slots are masked");
_Static_assert(offsetof(struct santa_value, tail) % 8 == 0, "tail alignment");
_Static_assert(offsetof(struct santa_entry, value) % 8 == 0, "value alignment");
_Static_assert(offsetof(struct santa_value, expires_jiffies) == 0, "lease is 8-byte aligned");
_Static_assert(offsetof(struct santa_value, rrl_id) % 4 == 0, "rrl_id alignment");
_Static_assert(sizeof(struct santa_rrl_key) == 24, "RRL key layout");
_Static_assert(sizeof(struct santa_rrl_bucket) == 16, "RRL bucket layout");
_Static_assert(offsetof(struct santa_settings, clock_offset_ns) % 8 == 0, "clock offset alignment");
#endif

#endif /* SANTA_ABI_H */
