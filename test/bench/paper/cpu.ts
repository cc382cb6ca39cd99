/**
 * CPU accounting on the server side, read before and after a load run:
 * - the server CPU's busy fraction from its idle time in /proc/stat (tick counters for user and
 *   system under-count partial load on this VM; the idle counter does not);
 * - a process's own CPU (utime + stime over all its threads, /proc/<pid>/stat);
 * - an XDP program's run time from bpf_stats.
 */
import { readFileSync } from 'fs';

const TICKS_PER_S = 100;

export interface CpuSnapshot {
  atNs: bigint;
  /** Idle + iowait ticks of the watched CPU. */
  idleTicks: number;
  /** pid -> utime + stime ticks. */
  procTicks: Map<number, number>;
}

function idleTicksOf(cpu: number): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith(`cpu${cpu} `));
  if (!line) throw new Error(`no cpu${cpu} line in /proc/stat`);
  const f = line.trim().split(/\s+/).map(Number);
  return f[4] + f[5];
}

export function procTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may contain spaces; the fields after it are positional.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]);
}

export function snapshot(cpu: number, pids: readonly number[]): CpuSnapshot {
  return { atNs: process.hrtime.bigint(), idleTicks: idleTicksOf(cpu), procTicks: new Map(pids.map((p) => [p, procTicks(p)])) };
}

export interface CpuDelta {
  seconds: number;
  /** Fraction of the watched CPU not idle. */
  busy: number;
  /** pid -> CPU seconds used. */
  procSeconds: Map<number, number>;
}

export function delta(a: CpuSnapshot, b: CpuSnapshot): CpuDelta {
  const seconds = Number(b.atNs - a.atNs) / 1e9;
  const idle = (b.idleTicks - a.idleTicks) / TICKS_PER_S;
  const procSeconds = new Map<number, number>();
  for (const [pid, t] of b.procTicks) procSeconds.set(pid, (t - (a.procTicks.get(pid) ?? t)) / TICKS_PER_S);
  return { seconds, busy: Math.min(1, Math.max(0, 1 - idle / seconds)), procSeconds };
}

/** Resident set size in bytes. */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}
