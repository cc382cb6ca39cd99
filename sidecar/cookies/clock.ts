/**
 * The wall clock for the XDP program. BPF reads only CLOCK_MONOTONIC (bpf_ktime_get_ns) and
 * cookie timestamps are Unix seconds, so user space publishes the difference. It moves only
 * when the wall clock is stepped or slewed, so refreshing it every minute is plenty.
 */

/** CLOCK_REALTIME - CLOCK_MONOTONIC in ns (libuv's hrtime reads CLOCK_MONOTONIC, as bpf_ktime_get_ns does). */
export function wallClockOffsetNs(nowMs: number = Date.now(), monotonicNs: bigint = process.hrtime.bigint()): bigint {
  return BigInt(nowMs) * 1_000_000n - monotonicNs;
}

export const CLOCK_REFRESH_MS = 60_000;
