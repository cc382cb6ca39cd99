// SPDX-License-Identifier: GPL-2.0-only
/*
 * minimal_xdp: the cheapest UDP responder possible, as the ceiling santa_xdp is measured
 * against. It swaps MACs, addresses and ports of every IPv4/IPv6 UDP packet and sends it
 * back; no parsing beyond that, no lookup, no payload change. Swapping leaves the UDP
 * checksum valid (the one's-complement sum is order independent), so replies are well formed.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

static __always_inline void swap_bytes(void *a, void *b, __u32 n)
{
	__u8 tmp[16];

	__builtin_memcpy(tmp, a, n);
	__builtin_memcpy(a, b, n);
	__builtin_memcpy(b, tmp, n);
}

SEC("xdp")
int minimal_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct udphdr *udp;
	__be16 port;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		udp = (void *)(ip + 1);
		if ((void *)(udp + 1) > data_end || ip->protocol != IPPROTO_UDP || ip->ihl != 5)
			return XDP_PASS;
		swap_bytes(&ip->saddr, &ip->daddr, 4);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		udp = (void *)(ip6 + 1);
		if ((void *)(udp + 1) > data_end || ip6->nexthdr != IPPROTO_UDP)
			return XDP_PASS;
		swap_bytes(&ip6->saddr, &ip6->daddr, 16);
	} else {
		return XDP_PASS;
	}
	swap_bytes(eth->h_dest, eth->h_source, ETH_ALEN);
	port = udp->source;
	udp->source = udp->dest;
	udp->dest = port;
	return XDP_TX;
}

/* empty_xdp: passes every packet untouched. What it costs under a measurement is the
 * measurement's own floor (the kernel's timing of each run, the call into the program), which
 * the benchmark subtracts to give each program's own cost. */
SEC("xdp")
int empty_xdp(struct xdp_md *ctx)
{
	return XDP_PASS;
}

/* empty_tc: the same floor for a tc program (test/bench/guard-cost.ts times the loopback guard
 * against it): lets every packet go on (TC_ACT_UNSPEC). */
SEC("classifier")
int empty_tc(struct __sk_buff *skb)
{
	return -1;
}

/* minimal_grow_xdp: the minimal responder after growing its frame's tail by 16 bytes, as a
 * one-A-record answer must grow (santa_xdp takes those bytes from the headroom instead, where
 * the helper does not clear them). Not a valid reply (the lengths are not updated): it exists
 * to be timed, and shows what one helper call costs on the machine at hand. */
SEC("xdp")
int minimal_grow_xdp(struct xdp_md *ctx)
{
	if (bpf_xdp_adjust_tail(ctx, 16))
		return XDP_PASS;
	return minimal_xdp(ctx);
}
