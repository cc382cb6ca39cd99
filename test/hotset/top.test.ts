/**
 * `santa top` end to end: a Zipf query log against exact counts, the command line through a
 * real process, and dnstap received live from a real BIND.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { PassThrough, Readable } from 'stream';
import * as dnsPacket from 'dns-packet';
import * as protobuf from 'protobufjs';
import { TopIo, TopReport, formatTopReport, runTop } from '../../sidecar/cli/top';
import { ControlType, DNSTAP_CONTENT_TYPE, encodeControlFrame, encodeDataFrame } from '../../sidecar/dnstap/frame-streams';
import { startBind } from '../support/bind';
import { run, waitFor } from '../support/process';
import { requireTools } from '../support/require-root';
import { seededRandom, zipfSampler } from './zipf';

function sink(): PassThrough & { text(): string } {
  const s = new PassThrough() as PassThrough & { text(): string };
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  s.text = () => Buffer.concat(chunks).toString();
  return s;
}

function io(stdin: Readable = Readable.from([])): TopIo & { stdout: ReturnType<typeof sink>; stderr: ReturnType<typeof sink> } {
  return { stdin, stdout: sink(), stderr: sink() };
}

function logLine(name: string, i: number, flags = '+E(0)K'): string {
  return `27-Nov-2026 04:01:46.923 client @0x7f96a2b06098 10.53.0.1#${1024 + (i % 60000)} (${name}): query: ${name} IN A ${flags} (10.53.0.2)\n`;
}

describe('santa top on a Zipf query log', () => {
  let dir: string;
  let logPath: string;
  const exact = new Map<string, number>();
  const events = 120_000;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'santa-top-'));
    logPath = join(dir, 'query.log');
    const draw = zipfSampler(30_000, 1.1, seededRandom(7));
    const lines: string[] = [];
    for (let i = 0; i < events; i++) {
      const name = `n${draw()}.example.test`;
      lines.push(logLine(name, i));
      exact.set(name, (exact.get(name) ?? 0) + 1);
    }
    lines.splice(500, 0, 'this is not a query line\n');
    lines.push(logLine('tcp.example.test', 0, '+E(0)TK')); // counted in the total, never cacheable
    writeFileSync(logPath, lines.join(''));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const trueShare = (n: number) => [...exact.values()].sort((a, b) => b - a).slice(0, n).reduce((s, c) => s + c, 0) / (events + 1);

  it('brackets the true top-N share between the guaranteed and the estimated share', async () => {
    const report = await runTop({ input: logPath, sizes: [10, 100, 1000], capacity: 2000, top: 10, progress: false }, io());
    expect(report.queries).toBe(events + 1);
    expect(report.cacheable).toBe(events);
    expect(report.unreadable).toMatch(new RegExp(`1 unreadable line.*${logPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:501`));
    for (const row of report.whatIf) {
      const truth = trueShare(row.size);
      expect(row.guaranteedShare).toBeLessThanOrEqual(truth + 1e-12);
      expect(row.share).toBeGreaterThanOrEqual(truth - 1e-12);
    }
    const trueTop = [...exact].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([n]) => n);
    expect(report.top.map((q) => q.key.name)).toEqual(trueTop);
    expect(report.top[0].count).toBe(exact.get(trueTop[0]));
  });

  it('is exact when the ranking can hold every question, and sums the caller\'s entry sizes', async () => {
    const report = await runTop({ input: logPath, sizes: [10, 100, 100_000], capacity: 40_000, bytesPerEntry: () => 1000, progress: false }, io());
    for (const row of report.whatIf) {
      expect(row.share).toBeCloseTo(trueShare(row.size), 12);
      expect(row.guaranteedShare).toBeCloseTo(row.share, 12);
      expect(row.bytes).toBe(row.entries * 1000);
    }
    expect(report.whatIf[2].entries).toBe(exact.size);
    expect(Math.abs(report.distinctSeen - exact.size) / exact.size).toBeLessThan(0.05);
    const text = formatTopReport(report);
    expect(text).toMatch(/What if the cache held/);
    expect(text).toMatch(/100k \(\d+ seen\)/);
  });

  it('writes the hit-rate curve as SVG', async () => {
    const svg = join(dir, 'curve.svg');
    const report = await runTop({ input: logPath, sizes: [10, 100, 1000], plotPath: svg, progress: false }, io());
    const text = readFileSync(svg, 'utf8');
    expect(text.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(text.trimEnd().endsWith('</svg>')).toBe(true);
    expect((text.match(/<circle /g) ?? []).length).toBe(3);
    expect(text).toContain(`${(report.whatIf[0].share * 100).toFixed(1)}%`);
    const path = /<path d="([^"]+)"/.exec(text)![1];
    const ys = path.split(/[ML]/).filter(Boolean).map((p) => Number(p.trim().split(' ')[1]));
    expect(ys.length).toBeGreaterThan(50);
    for (let i = 1; i < ys.length; i++) expect(ys[i]).toBeLessThanOrEqual(ys[i - 1]); // share never falls
  });

  it('draws a progress bar on stderr when asked', async () => {
    const streams = io();
    await runTop({ input: logPath, progress: true }, streams);
    // The first chunk always draws (later redraws are at most every 200 ms); the bar is
    // cleared when reading ends so the report starts on a clean line.
    const err = streams.stderr.text();
    expect(err).toMatch(/^\r\[[#.]+\] +\d+% [\d.]+ MiB of [\d.]+ MiB +[\dk.M]+ queries\/s\x1b\[K/);
    expect(err.endsWith('\r\x1b[K')).toBe(true);
  });

  it('recognises a dnstap file by its first frame', async () => {
    const Dnstap = protobuf.loadSync(join(__dirname, '../../sidecar/dnstap/dnstap.proto')).lookupType('dnstap.Dnstap');
    const frame = (name: string) => {
      const query = dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'A', class: 'IN', name }] });
      return encodeDataFrame(Dnstap.encode(Dnstap.fromObject({ type: 1, message: { type: 1, queryAddress: Buffer.from([10, 53, 0, 1]), queryMessage: query } })).finish());
    };
    const tapPath = join(dir, 'queries.dnstap');
    writeFileSync(tapPath, Buffer.concat([
      encodeControlFrame(ControlType.START, [DNSTAP_CONTENT_TYPE]),
      frame('a.example.test'), frame('b.example.test'), frame('a.example.test'),
      encodeControlFrame(ControlType.STOP),
    ]));
    const report = await runTop({ input: tapPath, sizes: [1], progress: false }, io());
    expect(report).toMatchObject({ format: 'dnstap', queries: 3, whatIf: [{ size: 1, entries: 1 }] });
    expect(report.top.map((q) => [q.key.name, q.count])).toEqual([['a.example.test', 2], ['b.example.test', 1]]);
    expect(report.whatIf[0].share).toBeCloseTo(2 / 3, 12);
  });

  it('runs as a command: file, stdin, JSON, and a clear error for a missing file', async () => {
    const file = await run(['npx', 'tsx', 'sidecar/cli/top.ts', logPath, '--json', '--sizes', '10,1k'], { timeoutMs: 60_000 });
    const report = JSON.parse(file.stdout) as TopReport;
    expect(report.queries).toBe(events + 1);
    expect(report.whatIf.map((r) => r.size)).toEqual([10, 1000]);
    const stdin = await run(['npx', 'tsx', 'sidecar/cli/top.ts', '-', '-n', '3'], { input: readFileSync(logPath), timeoutMs: 60_000 });
    expect(stdin.stdout).toMatch(/^- \(querylog\): 120001 queries/);
    expect(stdin.stdout.split('\n').filter((l) => /^\d+ /.test(l)).length).toBe(3);
    const missing = await run(['npx', 'tsx', 'sidecar/cli/top.ts', join(dir, 'nope.log')], { allowFailure: true, timeoutMs: 60_000 });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/santa top: .*ENOENT.*nope\.log/);
  });
});

describe('santa top receiving dnstap from a real BIND', () => {
  let dir: string;
  beforeAll(() => {
    requireTools('santa top with BIND', ['named', 'dig']);
    dir = mkdtempSync(join(tmpdir(), 'santa-top-bind-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('ranks what BIND was asked', async () => {
    const socketPath = join(dir, 'tap.sock');
    const abort = new AbortController();
    const streams = io();
    let received = 0;
    const reportPromise = runTop(
      { dnstapSocket: socketPath, signal: abort.signal, sizes: [1, 10], top: 3, durationMs: 60_000, onEvent: () => received++ },
      streams,
    );
    await waitFor('the receiver to listen', () => (streams.stderr.text().includes('receiving dnstap') ? true : undefined), { timeoutMs: 5000 });
    const bind = await startBind({
      zones: [{ name: 'example.test', text: '$TTL 300\n@ SOA ns. h. 1 1 1 1 1\n@ NS ns.example.test.\nns A 127.0.0.1\nwww A 192.0.2.1\n' }],
      dnstap: { output: 'unix', path: socketPath, types: 'client query; auth query;' },
    });
    let report: TopReport;
    try {
      const batch = join(dir, 'batch');
      const lines = [...Array(30).fill('www.example.test A'), ...Array(10).fill('ns.example.test A +norec'), 'other.example.test TXT'];
      writeFileSync(batch, lines.join('\n') + '\n');
      await run(['dig', '@127.0.0.1', '-p', String(bind.port), '+tries=1', '+time=2', '+short', '-f', batch], { timeoutMs: 60_000 });
      // BIND's dnstap writer sends in batches on a timer: wait for the 41 queries + the probe.
      await waitFor('BIND to send every query over dnstap', () => (received >= 42 ? true : undefined), { timeoutMs: 20_000 });
    } finally {
      abort.abort();
      report = await reportPromise;
      await bind.stop();
    }
    expect(report).toMatchObject({ format: 'dnstap', queries: 42, cacheable: 42 });
    expect(streams.stderr.text()).toMatch(/^santa top: receiving dnstap on \S+ for 60 s; interrupt to report\n$/);
    expect(report.top.map((q) => [q.key.name, q.count])).toEqual([
      ['www.example.test', 30],
      ['ns.example.test', 10],
      [expect.any(String), 1],
    ]);
    expect(report.whatIf[0].share).toBeCloseTo(30 / report.queries, 10);
  });
});
