/**
 * The kernel's tick rate (CONFIG_HZ): the program's clock is bpf_jiffies64(), which the
 * verifier inlines (no helper call), and it needs ticks per second for BIND's whole seconds.
 */
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { gunzipSync } from 'node:zlib';

/** CONFIG_HZ from a kernel config text, or undefined. Pure. */
export function hzFromKernelConfig(text: string): number | undefined {
  const m = /^CONFIG_HZ=(\d+)\s*$/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Reads /proc/config.gz, else /boot/config-<release>; throws saying where it looked. */
export function kernelHz(): number {
  const sources: Array<[string, () => string]> = [
    ['/proc/config.gz', () => gunzipSync(readFileSync('/proc/config.gz')).toString('latin1')],
    [`/boot/config-${release()}`, () => readFileSync(`/boot/config-${release()}`, 'latin1')],
  ];
  for (const [path, read] of sources) {
    if (!existsSync(path)) continue;
    const hz = hzFromKernelConfig(read());
    if (hz) return hz;
  }
  throw new Error(`cannot find the kernel's CONFIG_HZ (looked in ${sources.map(([p]) => p).join(' and ')}); response rate limiting needs it`);
}
