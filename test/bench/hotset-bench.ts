/**
 * Hot-set benchmark: query-log lines per second, dnstap frames per second, ranking updates per
 * second, and the ranking's memory after 10 million distinct names.
 *
 *   npx tsx --expose-gc test/bench/hotset-bench.ts [--lines 2000000] [--frames 1000000] [--distinct 10000000]
 *
 * Everything runs on Node's one JavaScript thread; rates are given per wall-clock second and
 * per CPU second of this process (user + system, which includes libuv's file reads and GC
 * helper threads). Inputs are synthetic but shaped like BIND's output: Zipf-distributed names,
 * BIND 9.18's line format with a mix of flags, and dnstap frames with the fields BIND fills in.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as protobuf from 'protobufjs';
import * as dnsPacket from 'dns-packet';
import { DnstapEventDecoder } from '../../sidecar/dnstap/dnstap-message';
import { ControlType, DNSTAP_CONTENT_TYPE, encodeControlFrame, encodeDataFrame } from '../../sidecar/dnstap/frame-streams';
import { readDnstapFile } from '../../sidecar/dnstap/read-file';
import { QueryLogDecoder } from '../../sidecar/querylog/decoder';
import { readQueryLogFile } from '../../sidecar/querylog/read-file';
import { HotSetRanking } from '../../sidecar/ranking/hot-set-ranking';
import { KEY_EDNS, KEY_RD } from '../../sidecar/ranking/question-key';
import { seededRandom, zipfSampler } from '../hotset/zipf';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

const LINES = arg('lines', 2_000_000);
const FRAMES = arg('frames', 1_000_000);
const DISTINCT = arg('distinct', 10_000_000);
const NAMES = 1_000_000;

interface Timing {
  wallS: number;
  cpuS: number;
}

async function timed(fn: () => Promise<void> | void): Promise<Timing> {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await fn();
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  return { wallS, cpuS: (cpu.user + cpu.system) / 1e6 };
}

function rate(n: number, t: Timing, unit: string): string {
  return `${(n / t.wallS / 1e6).toFixed(2)} M ${unit}/s wall, ${(n / t.cpuS / 1e6).toFixed(2)} M ${unit}/s per CPU second (${n} in ${t.wallS.toFixed(2)} s)`;
}

function gc(): void {
  // Twice: the first pass can leave garbage that only weak-reference processing frees.
  (globalThis as { gc?: () => void }).gc?.();
  (globalThis as { gc?: () => void }).gc?.();
}

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

const FLAGS = ['+E(0)K', '+E(0)K', '+E(0)K', '-E(0)K', '+E(0)DK', '+', '-E(0)', '+E(0)TK'];
const TYPES = ['A', 'A', 'A', 'AAAA', 'AAAA', 'TXT', 'MX', 'HTTPS'];

function makeQueryLog(lines: number): Buffer {
  const draw = zipfSampler(NAMES, 1.0, seededRandom(1));
  const random = seededRandom(2);
  const parts: string[] = [];
  for (let i = 0; i < lines; i++) {
    const name = `host${draw()}.zone${i % 7}.example.test`;
    const r = Math.floor(random() * 8);
    const client = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    parts.push(`27-Nov-2026 04:01:46.923 client @0x7f96a2b06098 ${client}#${1024 + (i % 60000)} (${name}): query: ${name} IN ${TYPES[r]} ${FLAGS[(r + i) & 7]} (10.53.0.2)\n`);
  }
  return Buffer.from(parts.join(''));
}

function makeDnstapFile(frames: number): Buffer {
  const root = protobuf.loadSync(join(__dirname, '../../sidecar/dnstap/dnstap.proto'));
  const Dnstap = root.lookupType('dnstap.Dnstap');
  const draw = zipfSampler(NAMES, 1.0, seededRandom(3));
  const chunks: Buffer[] = [encodeControlFrame(ControlType.START, [DNSTAP_CONTENT_TYPE])];
  for (let i = 0; i < frames; i++) {
    const query = dnsPacket.encode({
      type: 'query',
      id: i & 0xffff,
      flags: i % 3 ? dnsPacket.RECURSION_DESIRED : 0,
      questions: [{ type: i % 4 ? 'A' : 'AAAA', class: 'IN', name: `host${draw()}.zone${i % 7}.example.test` }],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [] } as unknown as dnsPacket.Answer],
    });
    const payload = Dnstap.encode(
      Dnstap.fromObject({
        identity: Buffer.from('ns1.example.test'),
        version: Buffer.from('BIND 9.18.49-1~deb12u3-Debian'),
        type: 1,
        message: {
          type: i % 3 ? 5 : 1,
          socketFamily: 1,
          socketProtocol: 1,
          queryAddress: Buffer.from([10, (i >> 16) & 255, (i >> 8) & 255, i & 255]),
          responseAddress: Buffer.from([10, 53, 0, 2]),
          queryPort: 1024 + (i % 60000),
          responsePort: 53,
          queryTimeSec: 1795752106,
          queryTimeNsec: i,
          queryMessage: query,
        },
      }),
    ).finish();
    chunks.push(encodeDataFrame(payload));
  }
  chunks.push(encodeControlFrame(ControlType.STOP));
  return Buffer.concat(chunks);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'santa-hotset-bench-'));
  try {
    console.log(`node ${process.version}, ${LINES} log lines, ${FRAMES} dnstap frames, ${DISTINCT} distinct names for memory`);
    if (!(globalThis as { gc?: unknown }).gc) console.log('(run with --expose-gc for exact heap figures)');

    // ---- query log
    const log = makeQueryLog(LINES);
    const logPath = join(dir, 'query.log');
    writeFileSync(logPath, log);
    console.log(`\nquery log: ${mib(log.length)}, ${(log.length / LINES).toFixed(0)} bytes/line`);
    for (let round = 0; round < 2; round++) {
      let n = 0;
      const t = await timed(() => {
        const d = new QueryLogDecoder('bench', () => n++);
        for (let at = 0; at < log.length; at += 1 << 20) d.push(log.subarray(at, Math.min(log.length, at + (1 << 20))));
        d.endOfFile();
      });
      console.log(`  parse from memory (run ${round + 1}):   ${rate(n, t, 'lines')}`);
    }
    {
      let n = 0;
      const t = await timed(async () => {
        await readQueryLogFile(logPath, () => n++);
      });
      console.log(`  read file + parse:          ${rate(n, t, 'lines')}`);
    }
    {
      gc();
      const before = process.memoryUsage().heapUsed;
      const ranking = new HotSetRanking({ capacity: 100_000, halfLifeMs: 60_000 });
      const t = await timed(async () => {
        await readQueryLogFile(logPath, (e) => ranking.observe(e));
      });
      gc();
      const held = process.memoryUsage().heapUsed - before;
      console.log(`  read file + parse + rank:   ${rate(LINES, t, 'lines')}`);
      // A few hundred bytes per entry means entries hold their own names, not the 1 MiB chunks
      // of log text the names were cut from.
      console.log(`    (capacity 100k: ${ranking.size} entries, heap +${mib(held)}, ${(held / ranking.size).toFixed(0)} bytes/entry)`);
    }

    // ---- dnstap
    const tap = makeDnstapFile(FRAMES);
    const tapPath = join(dir, 'bench.dnstap');
    writeFileSync(tapPath, tap);
    console.log(`\ndnstap: ${mib(tap.length)}, ${(tap.length / FRAMES).toFixed(0)} bytes/frame`);
    {
      let n = 0;
      const t = await timed(async () => {
        const stats = await readDnstapFile(tapPath, () => n++);
        if (stats.unreadable.count) throw new Error(stats.unreadable.summary());
      });
      console.log(`  read file + decode:         ${rate(n, t, 'frames')}`);
    }
    {
      // The protobuf step alone, to show where the time goes.
      const d = new DnstapEventDecoder('bench', () => undefined);
      const payloads: Buffer[] = [];
      for (let at = 0, i = 0; at < tap.length && i < 200_000; i++) {
        const len = tap.readUInt32BE(at);
        if (len === 0) at += 8 + tap.readUInt32BE(at + 4);
        else {
          payloads.push(tap.subarray(at + 4, at + 4 + len));
          at += 4 + len;
        }
      }
      const t = await timed(() => {
        for (const p of payloads) d.payload(p);
      });
      console.log(`  protobuf + wire only:       ${rate(payloads.length, t, 'frames')}`);
    }

    // ---- ranking memory: heap held by the ranking as distinct names pile up
    for (const capacity of [10_000, 100_000]) {
      gc();
      const before = process.memoryUsage().heapUsed;
      const ranking = new HotSetRanking({ capacity, halfLifeMs: 60_000 });
      const checkpoints = new Set([DISTINCT / 10, DISTINCT / 2, DISTINCT]);
      const held: string[] = [];
      let fed = 0;
      const t = await timed(() => {
        for (let i = 1; i <= DISTINCT; i++) {
          if ((i & 0xffff) === 0) ranking.advanceTo(i / 1000);
          ranking.observe({ name: `n${i}.zone${i % 7}.example.test`, qtype: 1, qclass: 1, flags: KEY_RD | KEY_EDNS });
          if (checkpoints.has(i)) {
            gc();
            held.push(`${i / 1e6}M names: +${mib(process.memoryUsage().heapUsed - before)}`);
          }
          fed = i;
        }
      });
      console.log(`\nranking, capacity ${capacity} (${ranking.size} entries after ${fed} distinct names): heap ${held.join(', ')}`);
      console.log(`  ${rate(DISTINCT, t, 'updates')} (every update a new name: the worst case)`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
