// SPDX-License-Identifier: GPL-2.0-only
/*
 * santa_clock: one sample of jiffies and the monotonic clock, taken together, for user space
 * to convert lease ends between the two (see struct santa_clock_sample). Run through
 * BPF_PROG_TEST_RUN only; never attached.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "santa_abi.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct santa_clock_sample);
} santa_clock SEC(".maps");

SEC("xdp")
int santa_clock_probe(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct santa_clock_sample *sample = bpf_map_lookup_elem(&santa_clock, &zero);

	if (!sample)
		return XDP_ABORTED;
	sample->ktime_ns = bpf_ktime_get_ns();
	sample->jiffies = bpf_jiffies64();
	return XDP_PASS;
}
