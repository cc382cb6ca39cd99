/**
 * The bundled demo (run it through deploy/demo.sh, which installs and builds first).
 *
 * Two network namespaces joined by a veth pair: BIND 9 serving zones-example/ (query log on) and
 * `santa run` (native loader, XDP on the server's veth) in the server one, dnsperf in the client
 * one. The demo
 *   1. sends a warm-up load (a Zipf mix over the zones' names plus a tail of names that do not
 *      exist): Santa reads BIND's query log, ranks the questions, builds their answers from the
 *      zone files, checks each against BIND and installs it;
 *   2. sends the same load again and reports how many queries XDP answered (Santa's own
 *      Prometheus metrics) and the latency dnsperf saw for cached questions and for the rest.
 * Everything it starts is removed at the end, also on failure or Ctrl-C.
 *
 * Options: --seconds N (measured load, default 5), --warmup N (default 4), --rate QPS (default
 * 5000), --entries N (cache size, default 32), --mode native|generic (default native),
 * --zones named.conf (default zones-example/named.conf).
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'fs';
import { machine, tmpdir } from 'os';
import { dirname, join, relative, resolve } from 'path';
import { readNamedConf } from '../sidecar/named-conf/read';
import { parseZoneFile } from '../sidecar/zone/parse';
import { rrTypeToText } from '../sidecar/ranking/rr-mnemonics';
import { startBind, BindServer } from '../test/support/bind';
import { createTopology, Topology } from '../test/support/netns';
import { Background, pidAlive, run, waitFor } from '../test/support/process';
import { requireRoot, requireTools } from '../test/support/require-root';

const ROOT = resolve(__dirname, '..');
const PASS_SOURCE = join(ROOT, 'test/e2e/fixtures/xdp_pass.bpf.c');
const SANTA_CLI = join(ROOT, 'sidecar/cli/main.ts');
const METRICS = '127.0.0.1:9553';

interface Options {
  seconds: number;
  warmup: number;
  rate: number;
  entries: number;
  mode: 'native' | 'generic';
  namedConf: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { seconds: 5, warmup: 4, rate: 5000, entries: 32, mode: 'native', namedConf: join(ROOT, 'zones-example/named.conf') };
  for (let i = 0; i < argv.length; i++) {
    const [flag, value] = [argv[i], argv[i + 1]];
    const num = (lo: number, hi: number) => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < lo || n > hi) throw new Error(`${flag} wants an integer from ${lo} to ${hi}, not ${value}`);
      i++;
      return n;
    };
    if (flag === '--seconds') o.seconds = num(1, 60);
    else if (flag === '--warmup') o.warmup = num(2, 60);
    else if (flag === '--rate') o.rate = num(100, 100_000);
    else if (flag === '--entries') o.entries = num(1, 100_000);
    else if (flag === '--mode' && (value === 'native' || value === 'generic')) (o.mode = value), i++;
    else if (flag === '--zones' && value) (o.namedConf = resolve(value)), i++;
    else throw new Error(`unknown option ${flag} (see the header of deploy/demo.ts)`);
  }
  return o;
}

interface DemoZone {
  name: string;
  file: string;
}

function demoZones(namedConf: string): { zones: DemoZone[]; directory: string } {
  const conf = readNamedConf(namedConf);
  // The example names its installed location (/etc/bind/zones-example); run from the checkout.
  const configured = conf.options.directory;
  const directory = existsSync(configured) ? configured : dirname(namedConf);
  const zones = conf.zones
    .filter((z) => z.offloadable && z.file && /^(primary|master)$/.test(z.type) && z.view === undefined)
    .map((z) => ({ name: z.name, file: resolve(directory, relative(configured, z.file!)) }));
  if (zones.length === 0) throw new Error(`${namedConf} has no primary zone outside views to serve`);
  return { zones, directory };
}

/** Every (name, type) the zones answer with data, in a fixed pseudo-random order. */
function candidateQuestions(zones: DemoZone[], directory: string): Array<{ name: string; type: string }> {
  const out: Array<{ name: string; type: string }> = [];
  for (const z of zones) {
    const zone = parseZoneFile(z.file, z.name, { includeBase: directory });
    for (const [key, node] of zone.nodes) {
      if (key.startsWith('*.') || [...zone.delegations].some((d) => key === d || key.endsWith(`.${d}`))) continue;
      for (const type of node.rrsets.keys()) {
        const text = rrTypeToText(type);
        if (/^(RRSIG|NSEC3?|NSEC3PARAM|DNSKEY|TYPE\d+)$/.test(text)) continue;
        out.push({ name: node.name.replace(/\.$/, ''), type: text });
      }
    }
  }
  return shuffle(out, lcg(42));
}

function lcg(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
}

function shuffle<T>(xs: T[], rand: () => number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** A dnsperf input: Zipf(1) over the candidates, and 10% names that do not exist (a long tail). */
function queryFile(candidates: Array<{ name: string; type: string }>, zones: DemoZone[], lines: number): string {
  const weights = candidates.map((_, i) => 1 / (i + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  const cumulative: number[] = [];
  weights.reduce((acc, w, i) => (cumulative[i] = acc + w / total), 0);
  const rand = lcg(7);
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    if (rand() < 0.1) {
      out.push(`nx${i}.${zones[i % zones.length].name} A`);
      continue;
    }
    const r = rand();
    const k = cumulative.findIndex((c) => r <= c);
    const q = candidates[k < 0 ? candidates.length - 1 : k];
    out.push(`${q.name} ${q.type}`);
  }
  return `${out.join('\n')}\n`;
}

interface DnsperfRun {
  sent: number;
  completed: number;
  /** Per answered query (with -v): lower-cased "name TYPE" and latency in ms. */
  answers: Array<{ question: string; ms: number }>;
}

async function dnsperf(topo: Topology, file: string, seconds: number, rate: number, verbose: boolean): Promise<DnsperfRun> {
  const argv = ['dnsperf', '-s', topo.server.v4, '-d', file, '-l', String(seconds), '-Q', String(rate), '-t', '2', ...(verbose ? ['-v'] : [])];
  const r = await topo.exec(topo.client, argv, { timeoutMs: (seconds + 20) * 1000 });
  const sent = Number(/Queries sent:\s+(\d+)/.exec(r.stdout)?.[1] ?? NaN);
  const completed = Number(/Queries completed:\s+(\d+)/.exec(r.stdout)?.[1] ?? NaN);
  if (!Number.isFinite(sent) || !Number.isFinite(completed)) throw new Error(`cannot read dnsperf's summary:\n${r.stdout}\n${r.stderr}`);
  const answers: DnsperfRun['answers'] = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^> \S+ (\S+) (\S+) ([\d.]+)$/.exec(line);
    if (m) answers.push({ question: questionText(m[1], m[2]), ms: Number(m[3]) * 1000 });
  }
  return { sent, completed, answers };
}

function questionText(name: string, type: string): string {
  return `${name.toLowerCase().replace(/\.$/, '')} ${type.toUpperCase()}`;
}

/** Prometheus text format -> "name{labels}" -> value (enough for Santa's own metrics). */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m) out.set(m[1], Number(m[2]));
  }
  return out;
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function latencyLine(label: string, ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const f = (x: number) => (Number.isNaN(x) ? '     -' : x.toFixed(3).padStart(6));
  return `  ${label.padEnd(30)}${String(s.length).padStart(7)} answers   p50 ${f(percentile(s, 50))} ms   p90 ${f(percentile(s, 90))} ms   p99 ${f(percentile(s, 99))} ms`;
}

/** Pins and work directories of earlier demos that died before cleaning up (named by their pid). */
function removeStaleDemoFiles(): void {
  for (const [dir, pattern] of [
    ['/sys/fs/bpf', /^santa-demo-(\d+)$/],
    [tmpdir(), /^santa-demo-(\d+)-/],
  ] as const) {
    for (const entry of readdirSync(dir)) {
      const pid = Number(pattern.exec(entry)?.[1]);
      if (pid && pid !== process.pid && !pidAlive(pid)) rmSync(join(dir, entry), { recursive: true, force: true });
    }
  }
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  requireRoot('demo');
  requireTools('demo', ['named', 'dnsperf', 'clang', 'curl']);
  // `deploy/demo.sh | head` closes stdout early: keep going to the cleanup instead of dying.
  process.stdout.on('error', () => undefined);
  removeStaleDemoFiles();
  const work = mkdtempSync(join(tmpdir(), `santa-demo-${process.pid}-`));
  const pinDir = `/sys/fs/bpf/santa-demo-${process.pid}`;
  const santaConfig = join(work, 'santa.yaml');
  const tsx = require.resolve('tsx/cjs');
  const santaArgv = (...args: string[]) => [process.execPath, '--require', tsx, SANTA_CLI, ...args, '-c', santaConfig];
  let topo: Topology | undefined;
  let bind: BindServer | undefined;
  let santa: Background | undefined;
  const cleanup = async () => {
    await santa?.stop();
    if (topo && existsSync(santaConfig)) await topo.exec(topo.server, santaArgv('detach', '--purge'), { allowFailure: true });
    rmSync(pinDir, { recursive: true, force: true });
    await bind?.stop();
    await topo?.destroy();
    rmSync(work, { recursive: true, force: true });
  };
  const onSignal = () => void cleanup().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const { zones, directory } = demoZones(opts.namedConf);
    const candidates = candidateQuestions(zones, directory);
    console.log(`Santa demo: BIND 9 and santa run (${opts.mode} XDP) on a veth pair, dnsperf as the client`);
    console.log(`  zones ${zones.map((z) => z.name).join(', ')} from ${opts.namedConf}: ${candidates.length} questions with data`);

    topo = await createTopology();
    bind = await startBind({
      netns: topo.server.ns,
      // Santa asks BIND over 127.0.0.1 (verify, serial polls); clients come over the veth.
      addresses: [topo.server.v4, topo.server.v6, '127.0.0.1', '::1'],
      zones: zones.map((z) => ({ name: z.name, file: z.file })),
      directory,
      queryLog: true,
    });
    const load = join(work, 'queries.txt');
    writeFileSync(load, queryFile(candidates, zones, 20_000));

    if (opts.mode === 'native') {
      // Native XDP_TX on a veth delivers only to a peer that runs an XDP program of its own.
      const passObject = join(work, 'xdp_pass.bpf.o');
      await run(['clang', '-O2', '-target', 'bpf', `-I/usr/include/${machine()}-linux-gnu`, '-c', PASS_SOURCE, '-o', passObject]);
      await run(['ip', '-n', topo.client.ns, 'link', 'set', 'dev', topo.client.ifname, 'xdpdrv', 'obj', passObject, 'sec', 'xdp']);
    }
    writeFileSync(
      santaConfig,
      [
        `named_conf: ${bind.confPath}`,
        'interfaces:',
        `  - name: ${topo.server.ifname}`,
        `    xdp_mode: ${opts.mode}`,
        'mode: on',
        'loader: native',
        `pin_dir: ${pinDir}`,
        'queries:',
        '  source: querylog',
        `  path: ${bind.queryLogPath}`,
        'cache:',
        `  max_entries: ${opts.entries}`,
        '  lease_seconds: 10',
        'ranking:',
        '  interval_seconds: 1',
        'verify: true',
        'metrics:',
        `  listen: ${METRICS}`,
        'log:',
        '  level: warn',
        '',
      ].join('\n'),
    );
    santa = topo.spawn(topo.server, santaArgv('run'));
    const scrape = async () => parseMetrics((await topo!.exec(topo!.server, ['curl', '-sf', `http://${METRICS}/metrics`])).stdout);
    const running = santa;
    await waitFor('santa run to serve /metrics', async () => (running.hasExited() ? undefined : (await scrape()).size > 0 || undefined), {
      timeoutMs: 60_000,
      intervalMs: 500,
      describe: () => `santa run ${running.hasExited() ? 'exited' : 'is running'}; its output:\n${running.output()}`,
    });
    console.log(`  santa run: pid ${santa.pid} in ${topo.server.ns}, metrics on http://${METRICS}/metrics there`);

    // 1. Warm-up: Santa learns the hot questions from BIND's query log and installs them.
    const warm = await dnsperf(topo, load, opts.warmup, opts.rate, false);
    const installed = await waitFor('Santa to install entries', async () => ((await scrape()).get('santa_cache_entries') || undefined), {
      timeoutMs: 15_000,
      intervalMs: 500,
      describe: () => running.output(),
    });
    const m0 = await scrape();
    console.log(`\n1. warm-up: ${warm.sent} queries in ${opts.warmup} s; Santa ranked BIND's query log and installed ${installed} entries`);
    console.log(`   (verified against BIND first: ${m0.get('santa_verify_checks_total') ?? 0} checks, ${m0.get('santa_verify_failures_total') ?? 0} failures)`);

    // 2. Measure: the same load, now with the hot set in XDP.
    const before = await scrape();
    const measured = await dnsperf(topo, load, opts.seconds, opts.rate, true);
    const after = await scrape();
    const delta = (k: string) => (after.get(k) ?? 0) - (before.get(k) ?? 0);
    const hits = delta('santa_cache_hits_total');
    const misses = delta('santa_cache_misses_total');
    const status = JSON.parse((await topo.exec(topo.server, santaArgv('status', '--json', '--top', String(opts.entries)))).stdout) as {
      top: Array<{ question: string; hits: number }>;
    };
    const cached = new Set(status.top.map((t) => t.question.split(' ')).map(([name, type]) => questionText(name, type)));
    const hitMs = measured.answers.filter((a) => cached.has(a.question)).map((a) => a.ms);
    const missMs = measured.answers.filter((a) => !cached.has(a.question)).map((a) => a.ms);
    console.log(`2. measured: dnsperf from the client namespace, ${opts.seconds} s at up to ${opts.rate} qps`);
    console.log(`  queries sent / answered          ${measured.sent} / ${measured.completed}`);
    console.log(`  answered by XDP (hits)           ${hits}`);
    console.log(`  passed to BIND as misses         ${misses}`);
    console.log(`  hit ratio                        ${((100 * hits) / Math.max(1, measured.completed)).toFixed(1)}% of all answers`);
    console.log(latencyLine('latency, cached questions', hitMs));
    console.log(latencyLine('latency, answered by BIND', missMs));
    console.log('\n  most-hit cached questions (santa status):');
    for (const t of status.top.slice(0, 5)) console.log(`    ${String(t.hits).padStart(8)}  ${t.question}`);
    console.log(`\n  Santa's metrics (http://${METRICS}/metrics in the server namespace; reference: sidecar/metrics/README.md):`);
    const shown = /^santa_(xdp_packets_total\{result="tx"|xdp_packets_total\{result="pass",reason="miss"|cache_(entries|hit_ratio|updates_total)|zone_state)/;
    for (const [series, value] of after) if (shown.test(series) && value !== 0) console.log(`    ${series} ${value}`);
  } finally {
    await cleanup();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

main().catch((e) => {
  console.error(`demo failed: ${(e as Error).message ?? e}`);
  process.exit(1);
});
