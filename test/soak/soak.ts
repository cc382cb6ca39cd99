/**
 * The soak: real BIND 9 and `santa run` (native loader, XDP on the server veth) in one namespace,
 * the checking client (client.ts) in another, and for a bounded time the faults of schedule.ts:
 * zone edits every few seconds, restarts by SIGTERM and SIGKILL, one zone broken and fixed.
 * Meanwhile it samples the sidecar's memory, and around each restart it watches the pinned maps
 * to see whether the entries installed before come back. Returns a SoakReport (report.ts prints
 * it); everything it starts is stopped and removed on every path, also when `abort` fires.
 */
import { appendFileSync, cpSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { machine, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { SantaMaps } from '../../sidecar/bpf/maps';
import { startBind, type BindServer } from '../support/bind';
import { createTopology, type Topology } from '../support/netns';
import { GiveUp, pidAlive, run, waitFor, type Background } from '../support/process';
import { requireRoot, requireTools } from '../support/require-root';
import { pinnedStats } from '../support/santa-maps';
import type { ClientOptions, ClientResult, WrongAnswer } from './client';
import { soakSchedule, type SoakEvent } from './schedule';
import { SOAK_ZONES, zoneText } from './zones';

const ROOT = resolve(__dirname, '../..');
const SANTA_CLI = join(ROOT, 'sidecar/cli/main.ts');
const CLIENT = join(__dirname, 'client.ts');
const PASS_SOURCE = join(ROOT, 'test/e2e/fixtures/xdp_pass.bpf.c');
const METRICS = '127.0.0.1:9154';
/** An entry installed before a restart counts as lost unless installed again within this long. */
export const REINSTALL_BOUND_S = 15;
const MIN_UP_BEFORE_FAULT_MS = 4000;

export interface SoakOptions {
  seconds: number;
  /** Offered load, queries per second (capped in total at qps x seconds). */
  qps: number;
  /** Cache lease: SIGTERM restarts come back within it, SIGKILL ones after it. */
  leaseS?: number;
  /** XDP attach mode on the server veth. */
  xdpMode?: 'native' | 'generic';
  /** Keep the work directory (logs, zone files) even when nothing went wrong. */
  keep?: boolean;
  abort?: AbortSignal;
  progress?: (line: string) => void;
}

export interface MemorySample {
  atS: number;
  instance: number;
  rssKiB: number;
  heapUsedBytes: number | undefined;
}

export interface RestartOutcome {
  /** reconf: named.conf changed, read again by a new run in the same process. */
  kind: 'restart-term' | 'restart-kill' | 'reconf';
  atS: number;
  /** Entries in the maps just before the signal. */
  before: number;
  /** Of those, installed again (written anew by the next instance) within REINSTALL_BOUND_S. */
  reinstalled: number;
  lost: number;
  /** Seconds from the new instance's start until the last of them was back, if all came back. */
  allBackAfterS: number | undefined;
}

export interface SoakReport {
  date: string;
  seconds: number;
  /** How long the load actually ran (longer than `seconds` when the faults were held up). */
  loadSeconds: number;
  qps: number;
  leaseS: number;
  xdpMode: string;
  client: ClientResult;
  xdpAnswers: number;
  edits: number;
  editsSkipped: number;
  restarts: RestartOutcome[];
  broken: { zone: string; atS: number; fixedAtS: number | undefined } | undefined;
  memory: MemorySample[];
  santaErrors: string[];
  /** Processes that ended without being asked to (each a failure). */
  deaths: string[];
  events: Array<{ atS: number; what: string }>;
  workDir: string;
  kept: boolean;
}

export function soakFailures(r: SoakReport): string[] {
  const f: string[] = [];
  if (r.client.wrong > 0) f.push(`${r.client.wrong} wrong answers`);
  if (r.client.checked === 0) f.push('no answer was checked');
  for (const d of r.deaths) f.push(d);
  return f;
}

class Aborted extends Error {}

interface SantaInstance {
  n: number;
  bg: Background;
  expectedExit: boolean;
  /** When it first answered /metrics. */
  upMs: number;
}

type EntryStamp = Map<string, bigint>;

/** Installed entries by question (name, type, class, flags) with their lease end. */
function pinnedEntries(pinDir: string): EntryStamp {
  const maps = SantaMaps.openPinned(pinDir);
  try {
    return new Map(maps.entries().map((e) => [`${e.key.name.toString('hex')}/${e.key.qtype}/${e.key.qclass}/${e.key.flags}`, e.value.expiresJiffies]));
  } finally {
    maps.close();
  }
}

export async function runSoak(o: SoakOptions): Promise<SoakReport> {
  const leaseS = o.leaseS ?? (o.seconds >= 60 ? 12 : 6);
  const xdpMode = o.xdpMode ?? 'native';
  const say = o.progress ?? (() => undefined);
  requireRoot('soak');
  requireTools('soak', ['named', 'rndc', 'nsenter', 'curl', ...(xdpMode === 'native' ? ['clang'] : [])]);

  const work = mkdtempSync(join(tmpdir(), 'santa-soak-'));
  const pinDir = `/sys/fs/bpf/santa-soak-${process.pid}`;
  let topo: Topology | undefined;
  let bind: BindServer | undefined;
  let santa: SantaInstance | undefined;
  let client: Background | undefined;
  let instances = 0;
  const logs: WriteStream[] = [];
  let loadStartMs = 0;
  const since = () => (loadStartMs ? (Date.now() - loadStartMs) / 1000 : 0);
  const report: SoakReport = {
    date: new Date().toISOString(), seconds: o.seconds, loadSeconds: 0, qps: o.qps, leaseS, xdpMode, client: undefined as unknown as ClientResult,
    xdpAnswers: 0, edits: 0, editsSkipped: 0, restarts: [], broken: undefined, memory: [], santaErrors: [], deaths: [], events: [], workDir: work, kept: false,
  };
  const note = (what: string) => {
    report.events.push({ atS: Math.round(since() * 10) / 10, what });
    say(`[${since().toFixed(1).padStart(6)} s] ${what}`);
  };
  const checkAbort = () => {
    if (o.abort?.aborted) throw new Aborted('aborted by a signal');
  };
  const pause = async (ms: number) => {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      checkAbort();
      await new Promise((r) => setTimeout(r, Math.min(100, until - Date.now())));
    }
  };
  const curlMetrics = async (): Promise<string | undefined> => {
    const r = await topo!.exec(topo!.server, ['curl', '-sf', '--max-time', '2', `http://${METRICS}/metrics`], { allowFailure: true, timeoutMs: 5000 });
    return r.code === 0 ? r.stdout : undefined;
  };

  const startSanta = async () => {
    const n = ++instances;
    const bg = topo!.spawn(topo!.server, ['node', '--require', 'tsx/cjs', SANTA_CLI, 'run', '--config', join(work, 'santa.yaml')]);
    const log = createWriteStream(join(work, `santa-${n}.log`));
    logs.push(log);
    bg.child.stdout!.on('data', (b: Buffer) => log.write(b));
    bg.child.stderr!.on('data', (b: Buffer) => log.write(b));
    const inst: SantaInstance = { n, bg, expectedExit: false, upMs: Infinity };
    santa = inst;
    void bg.exited().then((x) => {
      if (!inst.expectedExit) {
        report.deaths.push(`santa run #${n} exited unexpectedly (code ${x.code}, signal ${x.signal}); log: ${join(work, `santa-${n}.log`)}`);
        note(`santa run #${n} died: code ${x.code} signal ${x.signal}`);
      }
    });
    await waitFor(`santa run #${n} to serve /metrics`, async () => {
      if (o.abort?.aborted) throw new GiveUp('aborted by a signal');
      if (bg.hasExited()) throw new GiveUp('santa run exited');
      return (await curlMetrics()) ? true : undefined;
    }, { timeoutMs: 60_000, intervalMs: 300, describe: () => bg.output() });
    inst.upMs = Date.now();
    note(`santa run #${n} up (pid ${bg.pid})`);
  };
  const stopSanta = async (sig: 'SIGTERM' | 'SIGKILL') => {
    const inst = santa!;
    inst.expectedExit = true;
    inst.bg.child.kill(sig);
    let timer: NodeJS.Timeout | undefined;
    const gone = await Promise.race([inst.bg.exited().then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 10_000)))]);
    clearTimeout(timer);
    if (!gone) {
      report.deaths.push(`santa run #${inst.n} did not exit within 10 s of ${sig}`);
      inst.bg.child.kill('SIGKILL');
      await inst.bg.exited();
    }
    santa = undefined;
  };

  // Entries installed before a restart that come back: watched in the background.
  const watchers: Promise<void>[] = [];
  const watchReinstall = (outcome: RestartOutcome, before: EntryStamp, newStartMs: number) =>
    (async () => {
      const pending = new Map(before);
      const deadline = newStartMs + REINSTALL_BOUND_S * 1000;
      let lastBackMs = newStartMs;
      while (pending.size > 0 && Date.now() < deadline && !o.abort?.aborted) {
        const now = pinnedEntries(pinDir);
        for (const [key, oldExpiry] of pending) {
          const expiry = now.get(key);
          if (expiry !== undefined && expiry > oldExpiry) {
            pending.delete(key);
            lastBackMs = Date.now();
          }
        }
        await new Promise((r) => setTimeout(r, 250));
      }
      outcome.reinstalled = before.size - pending.size;
      outcome.lost = pending.size;
      outcome.allBackAfterS = pending.size === 0 ? Math.round((lastBackMs - newStartMs) / 100) / 10 : undefined;
    })();

  const serials = new Map<string, number>(SOAK_ZONES.map((z) => [z, 1]));
  const zoneFile = (zone: string) => join(bind!.workDir, 'zones', `${zone}.zone`);
  let editTurn = 0;
  const brokenZone = SOAK_ZONES[1];
  let isBroken = false;

  const edit = (zone: string) => {
    const serial = serials.get(zone)! + 1;
    serials.set(zone, serial);
    writeFileSync(zoneFile(zone), zoneText(zone, serial));
    report.edits++;
    note(`edit ${zone} -> serial ${serial}`);
  };

  const act = async (e: SoakEvent) => {
    switch (e.kind) {
      case 'edit': {
        if (!santa) {
          report.editsSkipped++;
          return;
        }
        const candidates = SOAK_ZONES.filter((z) => !(isBroken && z === brokenZone));
        edit(candidates[editTurn++ % candidates.length]);
        return;
      }
      case 'restart-term':
      case 'restart-kill': {
        const sig = e.kind === 'restart-term' ? 'SIGTERM' : 'SIGKILL';
        const before = pinnedEntries(pinDir);
        const outcome: RestartOutcome = { kind: e.kind, atS: Math.round(since()), before: before.size, reinstalled: 0, lost: 0, allBackAfterS: undefined };
        report.restarts.push(outcome);
        note(`${sig} santa run #${santa!.n} (${before.size} entries installed)`);
        await stopSanta(sig);
        await pause((e.downS ?? 1) * 1000);
        const startMs = Date.now();
        await startSanta();
        watchers.push(watchReinstall(outcome, before, startMs));
        if (e.kind === 'restart-term') {
          // The entries of the previous run are still leased: every zone changes while they are.
          note('every zone edited while the previous run\'s leases still run');
          for (const zone of SOAK_ZONES) if (!(isBroken && zone === brokenZone)) edit(zone);
        }
        return;
      }
      case 'reconf': {
        if (!santa) return;
        const before = pinnedEntries(pinDir);
        const outcome: RestartOutcome = { kind: 'reconf', atS: Math.round(since()), before: before.size, reinstalled: 0, lost: 0, allBackAfterS: undefined };
        report.restarts.push(outcome);
        note(`named.conf rewritten (a comment added) and rndc reconfig: santa run #${santa.n} reads it again in process (${before.size} entries installed)`);
        const startMs = Date.now();
        appendFileSync(bind!.confPath, `\n// soak: rewritten at ${outcome.atS} s\n`);
        await bind!.rndc('reconfig');
        watchers.push(watchReinstall(outcome, before, startMs));
        return;
      }
      case 'break': {
        const serial = serials.get(brokenZone)! + 1;
        serials.set(brokenZone, serial);
        writeFileSync(zoneFile(brokenZone), zoneText(brokenZone, serial, { broken: true }));
        isBroken = true;
        report.broken = { zone: brokenZone, atS: Math.round(since()), fixedAtS: undefined };
        note(`break ${brokenZone} (serial ${serial}, bad address on the last line)`);
        return;
      }
      case 'fix': {
        const serial = serials.get(brokenZone)! + 1;
        serials.set(brokenZone, serial);
        writeFileSync(zoneFile(brokenZone), zoneText(brokenZone, serial));
        isBroken = false;
        if (report.broken) report.broken.fixedAtS = Math.round(since());
        note(`fix ${brokenZone} -> serial ${serial}`);
        return;
      }
    }
  };

  let sampler: NodeJS.Timeout | undefined;
  let sampling: Promise<void> | undefined;
  const sampleMemory = async () => {
    const inst = santa;
    if (!inst || inst.bg.hasExited()) return;
    let rssKiB: number;
    try {
      rssKiB = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${inst.bg.pid}/status`, 'utf8'))?.[1]);
    } catch {
      return; // exited between the check and the read
    }
    const metrics = await curlMetrics();
    const heap = metrics && /^nodejs_heap_size_used_bytes (\S+)$/m.exec(metrics)?.[1];
    report.memory.push({ atS: Math.round(since() * 10) / 10, instance: inst.n, rssKiB, heapUsedBytes: heap ? Number(heap) : undefined });
  };

  try {
    topo = await createTopology();
    checkAbort();
    bind = await startBind({
      netns: topo.server.ns,
      addresses: [topo.server.v4, '127.0.0.1'],
      queryLog: true,
      zones: SOAK_ZONES.map((z) => ({ name: z, text: zoneText(z, 1) })),
    });
    const bindServer = bind;
    if (xdpMode === 'native') {
      // Native XDP_TX on a veth reaches the peer only if the peer runs an XDP program itself.
      const passObject = join(work, 'xdp_pass.bpf.o');
      await run(['clang', '-O2', '-target', 'bpf', `-I/usr/include/${machine()}-linux-gnu`, '-c', PASS_SOURCE, '-o', passObject]);
      await run(['ip', '-n', topo.client.ns, 'link', 'set', 'dev', topo.client.ifname, 'xdpdrv', 'obj', passObject, 'sec', 'xdp']);
    }
    mkdirSync(pinDir, { recursive: true });
    writeFileSync(
      join(work, 'santa.yaml'),
      [
        `named_conf: ${bind.confPath}`,
        `interfaces: [{ name: ${topo.server.ifname}, xdp_mode: ${xdpMode} }]`,
        'loader: native',
        `pin_dir: ${pinDir}`,
        `queries: { source: querylog, path: ${bind.queryLogPath} }`,
        `cache: { max_entries: 256, lease_seconds: ${leaseS} }`,
        'ranking: { interval_seconds: 1 }',
        `bind: { address: "127.0.0.1:53", reload_command: "rndc -c ${join(bind.workDir, 'rndc.conf')} reload {zone}" }`,
        `metrics: { listen: "${METRICS}" }`,
        'log: { level: info }',
        '',
      ].join('\n'),
    );
    await startSanta();

    // The client stops when told to: at `seconds`, or later if a slow sidecar start-up pushed the
    // faults back (never beyond twice the duration plus half a minute).
    const clientOptions: ClientOptions = { server: topo.server.v4, seconds: o.seconds * 2 + 30, qps: o.qps };
    client = topo.spawn(topo.client, ['node', '--require', 'tsx/cjs', CLIENT, JSON.stringify(clientOptions)]);
    const clientLog = createWriteStream(join(work, 'client.log'));
    logs.push(clientLog);
    client.child.stderr!.on('data', (b: Buffer) => clientLog.write(b));
    let result: ClientResult | undefined;
    let clientError: string | undefined;
    let clientStarted = false;
    createInterface({ input: client.child.stdout! }).on('line', (line) => {
      clientLog.write(line + '\n');
      let msg: { kind?: string } & Record<string, unknown>;
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        return;
      }
      if (msg.kind === 'started') clientStarted = true;
      else if (msg.kind === 'result') result = msg as unknown as ClientResult;
      else if (msg.kind === 'error') clientError = String(msg.message);
      else if (msg.kind === 'progress') say(`[${since().toFixed(1).padStart(6)} s] client: ${JSON.stringify({ ...msg, kind: undefined, at: undefined })}`);
      else if (msg.kind === 'wrong') note(`WRONG ANSWER ${JSON.stringify((msg as { answer: WrongAnswer }).answer)}`);
      else if (msg.kind === 'note') note(`client: ${String(msg.text)}`);
    });
    const clientProc = client;
    await waitFor('the soak client to start its load', async () => {
      if (o.abort?.aborted) throw new GiveUp('aborted by a signal');
      if (clientProc.hasExited()) throw new Error(`the client exited: ${clientError ?? clientProc.output()}`);
      return clientStarted || undefined;
    }, { timeoutMs: 60_000, intervalMs: 20 });
    loadStartMs = Date.now();
    const statsBefore = pinnedStats(pinDir);
    note(`load started: ${o.qps} q/s for ${o.seconds} s`);
    sampler = setInterval(() => {
      if (!sampling) sampling = sampleMemory().finally(() => (sampling = undefined));
    }, 3000);

    let lastFaultMs = 0;
    for (const e of soakSchedule(o.seconds, leaseS)) {
      const late = since() - e.atS;
      if (late < 0) await pause(-late * 1000);
      if (e.kind === 'edit' && late > 1.5) {
        report.editsSkipped++;
        continue;
      }
      if (clientProc.hasExited()) break;
      // Faults wait until the sidecar has been up for a while (its start-up time varies with the
      // machine's load) and until the previous fault has had time to play out.
      if (e.kind !== 'edit') {
        while ((santa && Date.now() - santa.upMs < MIN_UP_BEFORE_FAULT_MS) || Date.now() - lastFaultMs < MIN_UP_BEFORE_FAULT_MS) await pause(100);
        lastFaultMs = Date.now();
      }
      await act(e);
    }
    while (since() < o.seconds && !clientProc.hasExited()) await pause(100);
    report.loadSeconds = Math.round(since());
    clientProc.child.kill('SIGTERM');
    while (!clientProc.hasExited()) await pause(200);
    const exit = await clientProc.exited();
    if (!result) throw new Error(`the soak client ended without a result (code ${exit.code}): ${clientError ?? clientProc.output()}`);
    report.client = result;
    report.xdpAnswers = pinnedStats(pinDir).HITS - statsBefore.HITS;
    clearInterval(sampler);
    await sampling;
    await sampleMemory();
    await Promise.all(watchers);
    if (santa) {
      await stopSanta('SIGTERM');
      note('santa run stopped');
    }
    if (!pidAlive(bindServer.pid)) report.deaths.push('named exited during the soak');
    await Promise.all(logs.map((l) => new Promise((done) => l.end(done))));
    for (let n = 1; n <= instances; n++) {
      const text = readFileSync(join(work, `santa-${n}.log`), 'utf8');
      for (const line of text.split('\n')) {
        // pino level 50+ is error/fatal; a zone that does not parse is the expected one.
        const m = /"level":(\d+)/.exec(line);
        if (m && Number(m[1]) >= 50 && !line.includes('zone file does not parse')) report.santaErrors.push(`#${n}: ${line.slice(0, 400)}`);
      }
    }
    return report;
  } finally {
    if (sampler) clearInterval(sampler);
    await client?.stop(2000);
    if (santa) {
      santa.expectedExit = true;
      await santa.bg.stop(3000);
    }
    const failed = report.client === undefined || soakFailures(report).length > 0;
    report.kept = o.keep === true || (failed && !o.abort?.aborted);
    if (report.kept && bind) {
      // BIND's side of the story goes with Santa's logs (bind.stop() removes its directory).
      cpSync(join(bind.workDir, 'zones'), join(work, 'zones'), { recursive: true });
      for (const f of [bind.logPath, bind.queryLogPath]) if (existsSync(f)) cpSync(f, join(work, basename(f)));
    }
    await bind?.stop();
    await topo?.destroy();
    for (const l of logs) if (!l.writableEnded) l.end();
    rmSync(pinDir, { recursive: true, force: true });
    if (report.kept) say(`logs and zone files kept in ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}
