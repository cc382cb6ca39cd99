/** The soak's report as Markdown, and the memory trend it states. Pure. */
import { REINSTALL_BOUND_S, soakFailures, type MemorySample, type SoakReport } from './soak';

/** Least-squares slope of y over x (per unit of x); undefined with fewer than 3 points. */
export function slope(points: ReadonlyArray<{ x: number; y: number }>): number | undefined {
  if (points.length < 3) return undefined;
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? undefined : num / den;
}

/** Samples of the last sidecar instance after its first 10 s (start-up allocations excluded). */
export function steadySamples(memory: readonly MemorySample[]): MemorySample[] {
  const last = memory[memory.length - 1]?.instance;
  const mine = memory.filter((m) => m.instance === last);
  const from = (mine[0]?.atS ?? 0) + 10;
  return mine.filter((m) => m.atS >= from);
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const pct = (part: number, whole: number) => (whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '-');

function memoryRow(memory: readonly MemorySample[], pick: (m: MemorySample) => number | undefined): string {
  const have = memory.filter((m) => pick(m) !== undefined);
  if (have.length === 0) return 'not sampled';
  const at = (m: MemorySample) => `${mib(pick(m)!)} (${m.atS} s, #${m.instance})`;
  const points = steadySamples(have).map((m) => ({ x: m.atS / 60, y: pick(m)! }));
  const s = slope(points);
  const trend = s === undefined ? 'too few samples for a slope' : `slope ${s >= 0 ? '+' : ''}${(s / 2 ** 20).toFixed(2)} MiB/min over the last instance's ${points.length} steady samples`;
  return `${at(have[0])} / ${at(have[Math.floor(have.length / 2)])} / ${at(have[have.length - 1])}; ${trend}`;
}

export function formatReport(r: SoakReport): string {
  const c = r.client;
  const serialChanges = Object.values(c.serials).reduce((s, list) => s + list.length - 1, 0);
  const failures = soakFailures(r);
  const rows: Array<[string, string]> = [
    ['date (UTC)', r.date.replace('T', ' ').slice(0, 19)],
    ['load', `${r.loadSeconds} s at ${r.qps} q/s offered over UDP from the client namespace (${c.sent} queries sent, ~90% to 24 hot questions, 0x20 case)`],
    ['answers checked', `${c.checked} (every reply, against BIND's answer for the serials served during the query)`],
    ['**wrong answers**', `**${c.wrong}**`],
    ['unverifiable (no BIND reference for a possible serial)', String(c.unverifiable)],
    ['timeouts (1 s)', `${c.timeouts} (${pct(c.timeouts, c.sent)}); late replies ${c.late}`],
    ['answered by XDP / by BIND', `${r.xdpAnswers} (${pct(r.xdpAnswers, c.answered)}) / ${c.answered - r.xdpAnswers}`],
    ['zone edits / serial changes BIND served', `${r.edits} edits (${r.editsSkipped} skipped while Santa was down) / ${serialChanges} (SOA polled ${c.soaPolls} times over TCP)`],
    ...r.restarts.map((x): [string, string] => [
      x.kind === 'reconf' ? `named.conf changed and read again (in process) at ${x.atS} s` : `${x.kind === 'restart-term' ? 'SIGTERM' : 'SIGKILL'} restart at ${x.atS} s`,
      `${x.before} entries before; ${x.reinstalled} installed again within ${REINSTALL_BOUND_S} s, **${x.lost} lost**${x.allBackAfterS !== undefined ? ` (all back ${x.allBackAfterS} s after the restart)` : ''}`,
    ]),
    ['broken zone', r.broken ? `${r.broken.zone}: broken at ${r.broken.atS} s, fixed at ${r.broken.fixedAtS ?? '-'} s` : 'none'],
    ['santa RSS start / middle / end', memoryRow(r.memory, (m) => m.rssKiB * 1024)],
    ['santa V8 heap used start / middle / end', memoryRow(r.memory, (m) => m.heapUsedBytes)],
    ['santa error log lines', String(r.santaErrors.length)],
    ['unexpected exits', r.deaths.length ? r.deaths.join('; ') : 'none'],
    ['verdict', failures.length ? `FAIL: ${failures.join('; ')}` : 'pass'],
  ];
  const lines = ['| what | result |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v.replace(/\|/g, '\\|')} |`)];
  if (c.firstWrong.length) {
    lines.push('', 'First wrong answers:');
    for (const w of c.firstWrong) {
      lines.push(`- ${w.question}, sent ${w.sent}, received ${w.received}: ${w.reason}`, `  reply: ${w.reply}`);
      for (const x of w.window) lines.push(`  serial ${x.serial} (served ${x.from} .. ${x.to}): BIND ${x.bind}`);
    }
  }
  if (c.firstUnverifiable.length) lines.push('', 'First unverifiable answers:', ...c.firstUnverifiable.map((u) => `- ${u}`));
  if (r.santaErrors.length) lines.push('', 'Santa error log lines (first 5):', ...r.santaErrors.slice(0, 5).map((e) => `- ${e}`));
  return lines.join('\n') + '\n';
}
