/**
 * `santa top`: which questions are hottest in a query log or dnstap stream, and how much of
 * the traffic a cache of a given size would answer.
 *
 *   santa top /var/log/named/query.log
 *   santa top --format dnstap /var/lib/bind/dnstap.log --plot hit-rate.svg
 *   zcat query.log.1.gz | santa top -
 *   santa top --dnstap-socket /run/santa/dnstap.sock --duration 60
 *
 * Reading and ranking live in sidecar/querylog, sidecar/dnstap and sidecar/ranking; this file
 * wires them to files, stdin, a socket and the terminal.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { promises as fsp } from 'fs';
import { Readable, Writable } from 'stream';
import { readDnstapFile, readDnstapStream } from '../dnstap/read-file';
import { DnstapSocketReceiver } from '../dnstap/socket-receiver';
import { readQueryLogFile, readQueryLogStream } from '../querylog/read-file';
import { UnreadableTally } from '../querylog/unreadable-tally';
import { hitRateSvg, formatCount } from '../ranking/hit-rate-svg';
import { isCacheable } from '../ranking/feed';
import { HotSetRanking, RankedQuestion } from '../ranking/hot-set-ranking';
import { QueryEvent, QuestionKey, KEY_DO, KEY_EDNS, KEY_RD, KEY_V6 } from '../ranking/question-key';
import { rrClassToText, rrTypeToText } from '../ranking/rr-mnemonics';
import { DEFAULT_WHAT_IF_SIZES, WhatIfRow, abiEntryBytes, hitRateCurve, whatIf } from '../ranking/what-if';

export type InputFormat = 'auto' | 'querylog' | 'dnstap';

export interface TopOptions {
  /** A file path, or "-" for stdin. Ignored with dnstapSocket. */
  input?: string;
  format?: InputFormat;
  /** Receive dnstap from BIND on this Unix socket instead of reading a file. */
  dnstapSocket?: string;
  /** With dnstapSocket: stop after this long (default: until the abort signal). */
  durationMs?: number;
  /** Rows of the top list (default 20). */
  top?: number;
  sizes?: readonly number[];
  /** Entries the ranking monitors (default twice the largest size, so those rows are exact
   * for every question above total/capacity). */
  capacity?: number;
  plotPath?: string;
  bytesPerEntry?: (key: QuestionKey) => number;
  /** Draw a progress bar on stderr (default: when stderr is a terminal). */
  progress?: boolean;
  signal?: AbortSignal;
  /** Sees every query as it is read (a live display, a test waiting for traffic). */
  onEvent?: (event: QueryEvent) => void;
}

export interface TopIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable & { isTTY?: boolean; columns?: number };
}

export interface TopReport {
  readonly source: string;
  readonly format: 'querylog' | 'dnstap';
  /** Every query read. */
  readonly queries: number;
  /** Queries the XDP program could answer (UDP, EDNS version 0 or none): the ranked ones. */
  readonly cacheable: number;
  readonly distinctSeen: number;
  readonly capacity: number;
  readonly top: readonly RankedQuestion[];
  readonly whatIf: readonly WhatIfRow[];
  readonly unreadable: string | undefined;
}

export async function runTop(options: TopOptions, io: TopIo): Promise<TopReport> {
  const sizes = options.sizes ?? DEFAULT_WHAT_IF_SIZES;
  const capacity = options.capacity ?? 2 * Math.max(...sizes);
  const ranking = new HotSetRanking({ capacity });
  let queries = 0;
  let cacheable = 0;
  const distinct = new DistinctEstimate();
  const onEvent = (e: QueryEvent) => {
    queries++;
    options.onEvent?.(e);
    if (!isCacheable(e)) return;
    cacheable++;
    ranking.observe(e);
    distinct.add(e.name, e.qtype, e.flags);
  };

  const progress = new ProgressBar(io.stderr, options.progress ?? io.stderr.isTTY === true);
  let source: string;
  let format: 'querylog' | 'dnstap';
  let unreadable: UnreadableTally;
  try {
    if (options.dnstapSocket) {
      source = options.dnstapSocket;
      format = 'dnstap';
      unreadable = await receiveDnstap(options.dnstapSocket, onEvent, options, io);
    } else {
      source = options.input ?? '-';
      format = options.format && options.format !== 'auto' ? options.format : await detectFormat(source);
      const tick = (done: number, total: number | undefined) => progress.update(done, total, queries);
      if (source === '-') {
        const stats = format === 'dnstap'
          ? await readDnstapStream(io.stdin, 'stdin', onEvent, tick)
          : await readQueryLogStream(io.stdin, 'stdin', onEvent, tick);
        unreadable = stats.unreadable;
      } else {
        const stats = format === 'dnstap'
          ? await readDnstapFile(source, onEvent, tick)
          : await readQueryLogFile(source, onEvent, tick);
        unreadable = stats.unreadable;
      }
    }
  } finally {
    progress.done();
  }

  const ranked = ranking.top();
  const report: TopReport = {
    source,
    format,
    queries,
    cacheable,
    distinctSeen: distinct.estimate(),
    capacity,
    top: ranked.slice(0, options.top ?? 20),
    whatIf: whatIf(ranked, queries, sizes, options.bytesPerEntry ?? abiEntryBytes),
    unreadable: unreadable.summary(),
  };
  if (options.plotPath) {
    const marks = report.whatIf.filter((r) => r.entries === r.size).map((r) => ({ entries: r.size, share: r.share }));
    const title = `Hit rate vs cache size: ${formatCount(queries)} queries from ${source}`;
    await fsp.writeFile(options.plotPath, hitRateSvg(hitRateCurve(ranked, queries), title, marks));
  }
  return report;
}

/** A Frame Streams file starts with the escape (four zero bytes) of its START frame; a text
 * log cannot. */
export async function detectFormat(path: string): Promise<'querylog' | 'dnstap'> {
  if (path === '-') return 'querylog';
  const file = await fsp.open(path, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await file.read(head, 0, 4, 0);
    return bytesRead === 4 && head.readUInt32BE(0) === 0 ? 'dnstap' : 'querylog';
  } finally {
    await file.close();
  }
}

async function receiveDnstap(path: string, onEvent: (e: QueryEvent) => void, options: TopOptions, io: TopIo): Promise<UnreadableTally> {
  const receiver = new DnstapSocketReceiver(path, onEvent, {
    onError: (err) => io.stderr.write(`santa top: ${err.message}\n`),
  });
  await receiver.listen();
  io.stderr.write(`santa top: receiving dnstap on ${path}${options.durationMs ? ` for ${options.durationMs / 1000} s` : ''}; interrupt to report\n`);
  try {
    await new Promise<void>((resolve) => {
      const timer = options.durationMs ? setTimeout(resolve, options.durationMs) : undefined;
      options.signal?.addEventListener('abort', () => {
        if (timer) clearTimeout(timer);
        resolve();
      });
    });
  } finally {
    await receiver.close();
  }
  return receiver.stats.unreadable;
}

export function formatTopReport(r: TopReport): string {
  const lines: string[] = [];
  const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
  lines.push(`${r.source} (${r.format}): ${r.queries} queries, ${r.cacheable} cacheable (UDP, EDNS 0 or none), ~${r.distinctSeen} distinct questions`);
  if (r.unreadable) lines.push(`warning: ${r.unreadable}`);
  lines.push('');
  lines.push(table(
    ['#', 'count', 'share', 'question'],
    r.top.map((q, i) => [
      String(i + 1),
      q.error > 0 ? `${Math.round(q.count)}±${Math.round(q.error)}` : String(Math.round(q.count)),
      pct(r.queries > 0 ? q.count / r.queries : 0),
      describeKey(q.key),
    ]),
    [true, true, true, false],
  ));
  lines.push('');
  lines.push('What if the cache held the N hottest questions:');
  lines.push(table(
    ['entries', 'answered', 'at least', 'memory'],
    r.whatIf.map((w) => [
      w.entries < w.size ? `${formatCount(w.size)} (${w.entries} seen)` : formatCount(w.size),
      pct(w.share),
      pct(w.guaranteedShare),
      formatBytes(w.bytes),
    ]),
    [true, true, true, true],
  ));
  if (r.distinctSeen > r.capacity) {
    lines.push(`(ranking monitors ${r.capacity} entries; counts for rarer questions are estimates, "at least" is guaranteed)`);
  }
  return lines.join('\n') + '\n';
}

function describeKey(k: QuestionKey): string {
  const bits = [k.flags & KEY_RD ? 'rd' : '', k.flags & KEY_EDNS ? 'edns' : 'no-edns', k.flags & KEY_DO ? 'do' : '', k.flags & KEY_V6 ? 'v6' : '']
    .filter(Boolean)
    .join(',');
  return `${k.name} ${rrClassToText(k.qclass)} ${rrTypeToText(k.qtype)} [${bits}]`;
}

function table(header: string[], rows: string[][], rightAlign: boolean[]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const fmt = (r: string[]) =>
    r.map((cell, c) => (c === r.length - 1 && !rightAlign[c] ? cell : rightAlign[c] ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ');
  return [fmt(header), ...rows.map(fmt)].join('\n');
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

/** Distinct questions without keeping them: a HyperLogLog-style estimate over 2^12 registers
 * (about 1.6% standard error), so `top` stays bounded in memory on any input. */
class DistinctEstimate {
  private readonly registers = new Uint8Array(4096);

  add(name: string, qtype: number, flags: number): void {
    let h = 0x811c9dc5 ^ qtype ^ (flags << 16);
    for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
    h = fmix32(h);
    const index = h >>> 20;
    const rest = (h << 12) | 0x800; // the guard bit bounds the rank at 21
    const rank = Math.clz32(rest) + 1;
    if (rank > this.registers[index]) this.registers[index] = rank;
  }

  estimate(): number {
    const m = this.registers.length;
    let sum = 0;
    let zeros = 0;
    for (const r of this.registers) {
      sum += 2 ** -r;
      if (r === 0) zeros++;
    }
    const raw = ((0.7213 / (1 + 1.079 / m)) * m * m) / sum;
    return Math.round(raw <= 2.5 * m && zeros > 0 ? m * Math.log(m / zeros) : raw);
  }
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A one-line progress bar on stderr, redrawn at most five times a second. */
class ProgressBar {
  private lastDraw = 0;
  private drawn = false;
  private readonly started = Date.now();

  constructor(private readonly out: TopIo['stderr'], private readonly enabled: boolean) {}

  update(done: number, total: number | undefined, queries: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.lastDraw < 200) return;
    this.lastDraw = now;
    const rate = queries / Math.max(0.001, (now - this.started) / 1000);
    const tail = ` ${formatBytes(done)}${total ? ` of ${formatBytes(total)}` : ''}  ${formatCount(Math.round(rate))} queries/s`;
    let bar = '';
    if (total) {
      const width = Math.max(10, Math.min(40, (this.out.columns ?? 80) - tail.length - 10));
      const filled = Math.round((done / total) * width);
      bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${((done / total) * 100).toFixed(0).padStart(3)}%`;
    }
    this.out.write(`\r${bar}${tail}\x1b[K`);
    this.drawn = true;
  }

  done(): void {
    if (this.drawn) this.out.write('\r\x1b[K');
  }
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function sizeList(value: string): number[] {
  return value.split(',').map((part) => {
    const m = /^(\d+)(k|m)?$/i.exec(part.trim());
    if (!m) throw new InvalidArgumentError(`"${part}" is not a size like 100, 10k or 1m`);
    return Number(m[1]) * (m[2] ? (m[2].toLowerCase() === 'k' ? 1e3 : 1e6) : 1);
  });
}

/** The `top` subcommand, for the main `santa` program to add. */
export function topCommand(io: TopIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }): Command {
  return new Command('top')
    .description('show the hottest questions in a BIND query log or dnstap stream, and what a cache of each size would answer')
    .argument('[input]', 'query log or dnstap file; "-" reads stdin', '-')
    .addOption(new Option('--format <format>', 'input format').choices(['auto', 'querylog', 'dnstap']).default('auto'))
    .option('--dnstap-socket <path>', 'receive dnstap from BIND on this Unix socket (dnstap-output unix "<path>")')
    .option('--duration <seconds>', 'with --dnstap-socket: report after this many seconds', positiveInt)
    .option('-n, --top <count>', 'rows in the top list', positiveInt, 20)
    .option('--sizes <list>', 'cache sizes for the what-if table', sizeList, [...DEFAULT_WHAT_IF_SIZES])
    .option('--capacity <entries>', 'entries the ranking monitors (default: twice the largest size)', positiveInt)
    .option('--plot <file.svg>', 'write the hit-rate-versus-size curve as SVG')
    .option('--progress', 'always draw a progress bar on stderr')
    .option('--no-progress', 'never draw a progress bar')
    .option('--json', 'print the report as JSON')
    .action(async (input: string, opts: Record<string, unknown>) => {
      const abort = new AbortController();
      const onSigint = () => abort.abort();
      process.once('SIGINT', onSigint);
      try {
        const report = await runTop(
          {
            input,
            format: opts.format as InputFormat,
            dnstapSocket: opts.dnstapSocket as string | undefined,
            durationMs: opts.duration ? (opts.duration as number) * 1000 : undefined,
            top: opts.top as number,
            sizes: opts.sizes as number[],
            capacity: opts.capacity as number | undefined,
            plotPath: opts.plot as string | undefined,
            progress: opts.progress as boolean | undefined,
            signal: abort.signal,
          },
          io,
        );
        io.stdout.write(opts.json ? JSON.stringify(report, null, 2) + '\n' : formatTopReport(report));
      } finally {
        process.off('SIGINT', onSigint);
      }
    });
}

if (require.main === module) {
  topCommand()
    .parseAsync(process.argv)
    .catch((err: Error) => {
      process.stderr.write(`santa top: ${err.message}\n`);
      process.exit(1);
    });
}
