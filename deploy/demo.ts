/**
 * The bundled demo (run it through deploy/demo.sh, which installs and builds first).
 *
 * Two network namespaces joined by a veth pair: BIND 9 serving zones-example/ in the server one,
 * dnsperf in the client one. The demo
 *   1. sends a short learning load (a Zipf mix over the zones' names plus a tail of names that
 *      do not exist) to BIND alone, with its query log on;
 *   2. ranks the questions in that log, asks BIND for each top question's answer, and installs
 *      those answers in the XDP program attached to the server's veth;
 *   3. sends the same load again and reports how many queries XDP answered and the latency
 *      dnsperf saw for XDP answers and for BIND's.
 * Everything it starts is removed at the end, also on failure or Ctrl-C.
 *
 * Options: --seconds N (measured load, default 5), --rate QPS (default 5000), --entries N
 * (cache size, default 32), --mode native|generic (default native), --zones named.conf.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { machine, tmpdir } from 'os';
import { dirname, join, relative, resolve } from 'path';
import { readNamedConf } from '../sidecar/named-conf/read';
import { parseZoneFile } from '../sidecar/zone/parse';
import { parseQueryLine, isUnreadable } from '../sidecar/querylog/parse-line';
import { KEY_DO, KEY_EDNS, KEY_RD, QuestionKey, questionKeyId } from '../sidecar/ranking/question-key';
import { rrClassToText, rrTypeToText } from '../sidecar/ranking/rr-mnemonics';
import { loadNative, LoadedObject, XdpMode } from '../sidecar/bpf/native';
import { cacheEntry, CacheEncodeError, keyFlags } from '../sidecar/bpf/codec';
import { CacheEntry, SantaMaps } from '../sidecar/bpf/maps';
import { startBind, BindServer } from '../test/support/bind';
import { queryMany } from '../test/support/dns-client';
import { createTopology, Topology } from '../test/support/netns';
import { run } from '../test/support/process';
import { requireRoot, requireTools } from '../test/support/require-root';

const ROOT = resolve(__dirname, '..');
// SANTA_BPF_OBJECT: try another build of the program (e.g. while xdp/ is being changed).
const SANTA_OBJECT = resolve(process.env.SANTA_BPF_OBJECT ?? join(ROOT, 'xdp/build/santa.bpf.o'));
const PASS_SOURCE = join(ROOT, 'test/e2e/fixtures/xdp_pass.bpf.c');
const FALLBACK_ZONE = { name: 'example.test', file: join(ROOT, 'test/e2e/fixtures/example.test.zone') };
const LEARN_SECONDS = 2;
const LEASE_NS = 120n * 1_000_000_000n;

interface Options {
  seconds: number;
  rate: number;
  entries: number;
  mode: XdpMode;
  namedConf: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { seconds: 5, rate: 5000, entries: 32, mode: 'native', namedConf: join(ROOT, 'zones-example/named.conf') };
  for (let i = 0; i < argv.length; i++) {
    const [flag, value] = [argv[i], argv[i + 1]];
    const num = (lo: number, hi: number) => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < lo || n > hi) throw new Error(`${flag} wants an integer from ${lo} to ${hi}, not ${value}`);
      i++;
      return n;
    };
    if (flag === '--seconds') o.seconds = num(1, 60);
    else if (flag === '--rate') o.rate = num(100, 100_000);
    else if (flag === '--entries') o.entries = num(1, 10_000);
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

function demoZones(namedConf: string): { zones: DemoZone[]; directory?: string; source: string } {
  if (!existsSync(namedConf)) return { zones: [FALLBACK_ZONE], source: `${FALLBACK_ZONE.file} (no ${namedConf} yet)` };
  const conf = readNamedConf(namedConf);
  // The example names its installed location (/etc/bind/zones-example); run from the checkout.
  const configured = conf.options.directory;
  const directory = existsSync(configured) ? configured : dirname(namedConf);
  const zones = conf.zones
    .filter((z) => z.offloadable && z.file && z.type.match(/^(primary|master)$/) && z.view === undefined)
    .map((z) => ({ name: z.name, file: resolve(directory, relative(configured, z.file!)) }));
  if (zones.length === 0) throw new Error(`${namedConf} has no primary zone outside views to serve`);
  return { zones, directory, source: namedConf };
}

/** Every (name, type) the zones answer with data, hottest first in a fixed pseudo-random order. */
function candidateQuestions(zones: DemoZone[], directory: string | undefined): Array<{ name: string; type: string }> {
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
  return shuffle(out, 42);
}

function shuffle<T>(xs: T[], seed: number): T[] {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
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
  let s = 7;
  const rand = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
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
  /** Per answered query: lower-cased "name type" and latency in ms (with -v). */
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
    if (m) answers.push({ question: `${m[1].toLowerCase().replace(/\.$/, '')} ${m[2].toUpperCase()}`, ms: Number(m[3]) * 1000 });
  }
  return { sent, completed, answers };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function latencyLine(label: string, ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const f = (x: number) => (Number.isNaN(x) ? '   -  ' : x.toFixed(3).padStart(6));
  return `  ${label.padEnd(22)} ${String(s.length).padStart(7)} answers   p50 ${f(percentile(s, 50))} ms   p90 ${f(percentile(s, 90))} ms   p99 ${f(percentile(s, 99))} ms`;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  requireRoot('demo');
  requireTools('demo', ['named', 'dnsperf', 'clang']);
  if (!existsSync(SANTA_OBJECT)) throw new Error(`${SANTA_OBJECT} is missing: run make -C xdp`);
  const bpf = loadNative();
  const work = mkdtempSync(join(tmpdir(), 'santa-demo-'));
  let topo: Topology | undefined;
  let bind: BindServer | undefined;
  const objects: LoadedObject[] = [];
  const cleanup = async () => {
    for (const o of objects.splice(0)) bpf.closeObject(o.id);
    await bind?.stop();
    await topo?.destroy();
    rmSync(work, { recursive: true, force: true });
  };
  const onSignal = () => void cleanup().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const { zones, directory, source } = demoZones(opts.namedConf);
    const candidates = candidateQuestions(zones, directory);
    console.log(`Santa demo: BIND 9 and the XDP answer cache on a veth pair (${opts.mode} XDP)`);
    console.log(`  zones: ${zones.map((z) => z.name).join(', ')} from ${source}; ${candidates.length} questions with data`);

    topo = await createTopology();
    bind = await startBind({
      netns: topo.server.ns,
      addresses: [topo.server.v4, topo.server.v6],
      zones: zones.map((z) => ({ name: z.name, file: z.file })),
      directory,
      queryLog: true,
    });
    const load = join(work, 'queries.txt');
    writeFileSync(load, queryFile(candidates, zones, 20_000));

    // 1. Learn: BIND alone, query log on.
    const learn = await dnsperf(topo, load, LEARN_SECONDS, opts.rate, false);
    const counts = new Map<string, { key: QuestionKey; n: number }>();
    for (const line of bind.queryLog().split('\n')) {
      if (!line) continue;
      const q = parseQueryLine(line);
      if (isUnreadable(q) || q.tcp) continue;
      const id = questionKeyId(q);
      const c = counts.get(id);
      if (c) c.n++;
      else counts.set(id, { key: q, n: 1 });
    }
    const top = [...counts.values()].sort((a, b) => b.n - a.n).slice(0, opts.entries);
    const logged = [...counts.values()].reduce((a, c) => a + c.n, 0);
    console.log(`\n1. learning: ${learn.sent} queries to BIND alone in ${LEARN_SECONDS} s; its query log names ${counts.size} distinct questions`);

    // 2. Cache: BIND's own answer (over TCP) for each top question, installed in the XDP maps.
    const answers = await queryMany(
      top.map(({ key }) => ({
        name: key.name,
        type: key.qtype,
        class: rrClassToText(key.qclass) as 'IN',
        rd: (key.flags & KEY_RD) !== 0,
        edns: (key.flags & KEY_EDNS) !== 0 ? { do: (key.flags & KEY_DO) !== 0 } : false,
      })),
      { server: topo.server.v4, transport: 'tcp', netns: topo.client.ns },
    );
    const passObject = join(work, 'xdp_pass.bpf.o');
    await run(['clang', '-O2', '-target', 'bpf', `-I/usr/include/${machine()}-linux-gnu`, '-c', PASS_SOURCE, '-o', passObject]);
    const santa = bpf.loadObject(SANTA_OBJECT);
    objects.push(santa);
    const maps = SantaMaps.fromLoadedObject(santa, bpf);
    const now = process.hrtime.bigint();
    const entries: CacheEntry[] = [];
    const cached = new Set<string>();
    const refused: string[] = [];
    top.forEach(({ key }, i) => {
      const a = answers[i].answer;
      const what = `${key.name} ${rrTypeToText(key.qtype)}`;
      if (!a) return void refused.push(`${what}: ${answers[i].error}`);
      try {
        const flags = keyFlags({ recursionDesired: (key.flags & KEY_RD) !== 0, edns: (key.flags & KEY_EDNS) !== 0, dnssecOk: (key.flags & KEY_DO) !== 0 });
        entries.push(cacheEntry({ question: { name: key.name, type: key.qtype, class: key.qclass }, reply: a.raw, slot: i, expiresNs: now + LEASE_NS, keyFlags: flags }));
        cached.add(what); // the form dnsperf's -v lines are normalised to below
      } catch (e) {
        if (!(e instanceof CacheEncodeError)) throw e;
        refused.push(`${what}: ${e.message}`);
      }
    });
    maps.zeroSlots(entries.map((_, i) => i));
    maps.install(entries);
    maps.writeSettings({ mode: 'on', maxUdpSize: 0, ports: [], v4Addrs: [topo.server.v4], v6Addrs: [topo.server.v6] });
    if (opts.mode === 'native') {
      const pass = bpf.loadObject(passObject);
      objects.push(pass);
      bpf.attachXdp(pass.progs.santa_test_pass, topo.client.ifname, 'native', topo.client.nsPath);
    }
    bpf.attachXdp(santa.progs.santa_xdp, topo.server.ifname, opts.mode, topo.server.nsPath);
    const coverage = top.reduce((a, c) => a + c.n, 0) / Math.max(1, logged);
    console.log(
      `2. cached: the top ${top.length} questions (${(coverage * 100).toFixed(1)}% of the learning load) -> ` +
        `${entries.length} entries installed from BIND's own answers${refused.length ? `, ${refused.length} refused` : ''}`,
    );
    for (const r of refused.slice(0, 5)) console.log(`     refused ${r}`);

    // 3. Measure: the same load again, now through XDP.
    const before = maps.readStats();
    const logBefore = bind.queryLog().length;
    const measured = await dnsperf(topo, load, opts.seconds, opts.rate, true);
    const after = maps.readStats();
    const delta = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
    const bindLogged = bind.queryLog().slice(logBefore).split('\n').filter((l) => l.includes(' query: ')).length;
    const hitMs = measured.answers.filter((a) => cached.has(a.question)).map((a) => a.ms);
    const missMs = measured.answers.filter((a) => !cached.has(a.question)).map((a) => a.ms);
    const hits = delta('HITS');
    console.log(`3. measured: dnsperf from the client namespace, ${opts.seconds} s at up to ${opts.rate} qps`);
    console.log(`  queries sent / answered       ${measured.sent} / ${measured.completed}`);
    console.log(`  answered by XDP (hits)        ${hits}  (hit ratio ${((hits / Math.max(1, measured.completed)) * 100).toFixed(1)}%)`);
    console.log(`  passed to BIND                ${delta('PASS_MISS')} misses, ${delta('PACKETS') - delta('DNS_QUERIES')} non-DNS packets; BIND logged ${bindLogged} queries`);
    console.log(latencyLine('latency of XDP hits', hitMs));
    console.log(latencyLine('latency of BIND answers', missMs));
    console.log(
      '\n  Counters come from the program\'s santa_stats map; `santa run` exports them on /metrics' +
        ' (see the README\'s metrics section).',
    );
    for (const end of [topo.server, topo.client]) {
      if (bpf.queryXdp(end.ifname, end.nsPath)) bpf.detachXdp(end.ifname, end === topo.server ? opts.mode : 'native', end.nsPath);
    }
  } finally {
    await cleanup();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

main().catch((e) => {
  console.error(`demo failed: ${(e as Error).stack ?? e}`);
  process.exit(1);
});
