// SPDX-License-Identifier: GPL-2.0-only
/*
 * replay_xdp: lets a program that rewrites its frame be timed warm, the way a driver runs it.
 *
 * BPF_PROG_TEST_RUN with live frames runs a program over page-pool frames in a loop, as a
 * driver's NAPI poll would, but it gives each run the bytes the page's previous run left: a
 * santa_xdp hit turns the query into a reply, and the page's next run sees a reply. This
 * program writes the query back (replay_frame, set by user space, exactly the test-run input's
 * length) and tail-calls the program under test (replay_target slot 0), so every run is the
 * same query. bpf_stats then times this program with the one it called: timing it once more
 * with a program that only returns XDP_TX (tx_xdp) in the slot gives the floor to subtract.
 * Benchmarks only.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define REPLAY_FRAME_MAX 512

struct replay_frame {
	__u32 len;
	__u32 pad;
	__u8 bytes[REPLAY_FRAME_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct replay_frame);
} replay_frame SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} replay_target SEC(".maps");

SEC("xdp")
int replay_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 zero = 0, len;
	struct replay_frame *f = bpf_map_lookup_elem(&replay_frame, &zero);

	if (!f)
		return XDP_ABORTED;
	len = f->len;
	/* Whole words, then the 8 bytes that end the frame: the frame is at least 8 bytes. */
	if (len < 8 || len > REPLAY_FRAME_MAX || data + len != data_end)
		return XDP_ABORTED;
	for (__u32 i = 0; i < REPLAY_FRAME_MAX / 8; i++) {
		__u32 at = i * 8;

		if (at + 8 > len)
			break;
		if (data + at + 8 > data_end)
			return XDP_ABORTED;
		*(__u64 *)(data + at) = *(__u64 *)(f->bytes + at);
	}
	{
		__u32 at = (len - 8) & (REPLAY_FRAME_MAX - 1);

		if (at + 8 > REPLAY_FRAME_MAX || data + at + 8 > data_end)
			return XDP_ABORTED;
		*(__u64 *)(data + at) = *(__u64 *)(f->bytes + at);
	}
	bpf_tail_call(ctx, &replay_target, 0);
	return XDP_ABORTED; /* the slot is empty */
}

/* tx_xdp: the floor, a tail-call target that only sends its frame back. */
SEC("xdp")
int tx_xdp(struct xdp_md *ctx)
{
	return XDP_TX;
}
