/**
 * Lease ends in jiffies, the clock the XDP program reads for free, from the monotonic clock
 * user space keeps time with (process.hrtime is CLOCK_MONOTONIC, as bpf_ktime_get_ns).
 *
 * The kernel's tick rate (CONFIG_HZ) is not exposed to user space, so it is measured: the
 * probe program (xdp/clock.bpf.c) samples jiffies and the monotonic clock together, twice,
 * some tens of milliseconds apart, and the rate is the nearest of the values Linux allows.
 * Conversions are then exact to a tick (1-10 ms), which is noise against leases of seconds.
 */
import { dirname, join } from 'path';
import { SantaAbi, santaAbi } from './abi';
import { hostOrder } from './codec';
import { loadNative, nativeModulePath, SantaNative } from './native';

/** CONFIG_HZ choices of the Linux kernel (kernel/Kconfig.hz). */
export const KERNEL_HZ_CHOICES = [100, 250, 300, 1000] as const;
const PROBE_GAP_MS = 40;
const NS_PER_S = 1_000_000_000n;

export interface ClockSample {
  jiffies: bigint;
  monotonicNs: bigint;
}

/** The tick rate two samples imply, or an error when it is none of Linux's. */
export function hzFromSamples(a: ClockSample, b: ClockSample): number {
  const ns = Number(b.monotonicNs - a.monotonicNs);
  const ticks = Number(b.jiffies - a.jiffies);
  if (ns <= 0) throw new Error('clock samples are not in time order');
  const measured = (ticks * 1e9) / ns;
  const hz = KERNEL_HZ_CHOICES.reduce((best, h) => (Math.abs(h - measured) < Math.abs(best - measured) ? h : best));
  // One tick of slack either side: the samples fall anywhere inside their ticks.
  const slack = 1e9 / ns;
  if (Math.abs(measured - hz) > slack + hz * 0.05) {
    throw new Error(`jiffies advanced ${ticks} in ${(ns / 1e6).toFixed(1)} ms (${measured.toFixed(0)} Hz), which is no CONFIG_HZ Linux offers`);
  }
  return hz;
}

export class KernelClock {
  constructor(
    /** A sample both clocks were read at. */
    readonly reference: ClockSample,
    readonly hz: number,
  ) {}

  /** The jiffies value at monotonic time `ns` (rounded down). */
  jiffiesAt(ns: bigint): bigint {
    const delta = ns - this.reference.monotonicNs;
    const ticks = (delta * BigInt(this.hz)) / NS_PER_S;
    // BigInt division truncates toward zero; round down for times before the reference too.
    const exact = ticks * NS_PER_S === delta * BigInt(this.hz);
    return this.reference.jiffies + (delta < 0n && !exact ? ticks - 1n : ticks);
  }

  /** The monotonic time at which jiffies reaches `j`. */
  monotonicNsAt(j: bigint): bigint {
    return this.reference.monotonicNs + ((j - this.reference.jiffies) * NS_PER_S) / BigInt(this.hz);
  }
}

/** Runs the probe program once: one sample of both clocks. */
export function sampleKernelClock(bpf: SantaNative, progFd: number, mapFd: number, abi: SantaAbi = santaAbi()): ClockSample {
  const run = bpf.progTestRun(progFd, Buffer.alloc(64), { repeat: 1 });
  if (run.retval !== 2) throw new Error(`the clock probe returned ${run.retval}, not XDP_PASS`);
  const v = bpf.lookup(mapFd, Buffer.alloc(4));
  if (!v) throw new Error(`${abi.clock.mapName} element 0 cannot be read`);
  return { jiffies: hostOrder.readU64(v, abi.clock.jiffies), monotonicNs: hostOrder.readU64(v, abi.clock.ktimeNs) };
}

let cached: KernelClock | undefined;

/** This kernel's clock, measured once per process (about PROBE_GAP_MS of waiting). */
export function kernelClock(bpf: SantaNative = loadNative(), abi: SantaAbi = santaAbi()): KernelClock {
  if (cached) return cached;
  // Built beside the binding by `make -C xdp`.
  const obj = bpf.loadObject(join(dirname(nativeModulePath()), 'clock.bpf.o'));
  try {
    const prog = Object.values(obj.progs)[0];
    const map = obj.maps[abi.clock.mapName];
    if (prog === undefined || map === undefined) throw new Error(`xdp/build/clock.bpf.o has no probe program or ${abi.clock.mapName} map`);
    const first = sampleKernelClock(bpf, prog, map, abi);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, PROBE_GAP_MS);
    const second = sampleKernelClock(bpf, prog, map, abi);
    cached = new KernelClock(second, hzFromSamples(first, second));
    return cached;
  } finally {
    bpf.closeObject(obj.id);
  }
}
