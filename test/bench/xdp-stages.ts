/**
 * Where a query's time goes in santa_xdp: the program built again five times, each build stopping
 * (XDP_DROP) after one more stage, every build timed with BPF_PROG_TEST_RUN repeat = N on a frame
 * it leaves unchanged (warm caches; bpf_stats off, so no timing floor of its own), beside an empty
 * program, all in the same run. Rounds interleave the programs, so that the machine slowing down
 * or speeding up (it does, here, for seconds at a time) moves them all alike.
 *
 *   npx tsx test/bench/xdp-stages.ts [--repeat N] [--rounds R]
 *
 * Stages (SANTA_BENCH_CUT in xdp/santa.bpf.c; built by make -C xdp build/santa-cut<N>.bpf.o):
 *   1 Ethernet, VLAN, IP, UDP   2 DNS header, question, OPT   3 key: lower-case, hash, checksum sum
 *   4 index lookup, key compare, lease   5 cookie, size limit, rate limiting (off here)
 * The reply (resize, headers, tail) cannot be timed this way, as it rewrites the frame; the whole
 * hit's cost is in xdp-cost.ts and the paper benchmark (bpf_stats). Numbers, not assertions.
 */
import * as dnsPacket from 'dns-packet';
import { execFileSync } from 'child_process';
import { join } from 'path';
import { loadavg } from 'os';
import { indexGroupsFor, santaAbi } from '../../sidecar/bpf/abi';
import { cacheEntry, keyFlags } from '../../sidecar/bpf/codec';
import { SantaMaps } from '../../sidecar/bpf/maps';
import { loadNative } from '../../sidecar/bpf/native';
import { buildNativeAndFixtures, buildSantaObject, REPO, SANTA_OBJ } from '../bpf/setup';
import { buildFrame, dnsQuery } from '../support/packets';
import { requireRoot } from '../support/require-root';
import { DEFAULT_SETTINGS, monotonicNs, responseFor } from '../xdp/harness';
import { positiveIntArg } from './args';

const STAGES = ['Ethernet, VLAN, IP, UDP', 'DNS header, question, OPT', 'key: lower-case, hash, checksum sum', 'index lookup, key compare, lease', 'cookie, size limit, rate limiting (off)'];
const NAME = 'www.example.test';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function main(): void {
  requireRoot('xdp-stages benchmark');
  const repeat = positiveIntArg('--repeat', 50_000);
  const rounds = positiveIntArg('--rounds', 31);
  buildNativeAndFixtures();
  buildSantaObject();
  const cuts = STAGES.map((_, i) => join(REPO, 'xdp', 'build', `santa-cut${i + 1}.bpf.o`));
  execFileSync('make', ['-s', '-C', join(REPO, 'xdp'), ...cuts.map((c) => `build/${c.split('/').pop()}`)], { stdio: 'inherit' });

  const bpf = loadNative();
  const abi = santaAbi();
  const opened: Array<{ maps?: SantaMaps; id: number }> = [];
  try {
    const load = (path: string): number => {
      const obj = bpf.loadObject(path, { mapMaxEntries: { [abi.maps.hits]: 64, [abi.maps.entries]: 64, [abi.maps.index]: indexGroupsFor(64, abi) } });
      const maps = SantaMaps.fromLoadedObject(obj, bpf, abi);
      opened.push({ maps, id: obj.id });
      maps.writeSettings(DEFAULT_SETTINGS);
      const answers: dnsPacket.Answer[] = [{ name: NAME, type: 'A', ttl: 300, data: '192.0.2.1' }];
      maps.install([
        cacheEntry({
          question: { name: NAME, type: 'A' },
          reply: responseFor({ name: NAME, answers, slot: 1 }),
          slot: 1,
          expiresJiffies: maps.leaseJiffies(monotonicNs() + 3_600_000_000_000n),
          keyFlags: keyFlags({ recursionDesired: false, edns: false, dnssecOk: false }),
        }),
      ]);
      return obj.progs[abi.progName];
    };
    const minimal = bpf.loadObject(join(REPO, 'xdp', 'build', 'minimal.bpf.o'));
    opened.push({ id: minimal.id });
    const programs = [{ label: 'empty program', fd: minimal.progs.empty_xdp }, ...cuts.map((c, i) => ({ label: `to stage ${i + 1}`, fd: load(c) })), { label: 'whole program', fd: load(SANTA_OBJ) }];
    const frames = {
      hit: buildFrame({ src: '10.53.0.1', dst: '10.53.0.2' }, dnsQuery({ name: NAME })),
      miss: buildFrame({ src: '10.53.0.1', dst: '10.53.0.2' }, dnsQuery({ name: 'nothere.example.test' })),
    };
    const times = new Map<string, number[]>();
    for (let r = 0; r < rounds; r++) {
      for (const p of programs) {
        for (const [kind, frame] of Object.entries(frames)) {
          // The whole program rewrites a hit's frame: only its miss is timed here.
          if (p.label === 'whole program' && kind === 'hit') continue;
          const key = `${p.label}/${kind}`;
          times.set(key, [...(times.get(key) ?? []), bpf.progTestRun(p.fd, frame, { repeat }).durationNs]);
        }
      }
    }
    const t = (label: string, kind: string) => median(times.get(`${label}/${kind}`)!);
    const floor = t('empty program', 'hit');
    console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}; test-run repeat=${repeat}, median of ${rounds} rounds; empty program ${floor.toFixed(0)} ns`);
    console.log(`query: ${NAME} A, IPv4, no EDNS (the hit) and nothere.example.test A (the miss)`);
    console.log('| stage | hit: ns to the end of the stage (own) | this stage | miss: ns (own) |');
    console.log('|---|---:|---:|---:|');
    let before = floor;
    STAGES.forEach((name, i) => {
      const label = `to stage ${i + 1}`;
      const hit = t(label, 'hit');
      const miss = i < 4 ? `${(t(label, 'miss') - floor).toFixed(0)}` : '(passed at stage 4)';
      console.log(`| ${i + 1}. ${name} | ${(hit - floor).toFixed(0)} | ${(hit - before).toFixed(0)} | ${miss} |`);
      before = hit;
    });
    console.log(`| whole program | (rewrites the frame: see xdp-cost.ts) | | ${(t('whole program', 'miss') - floor).toFixed(0)} |`);
  } finally {
    for (const o of opened.reverse()) {
      o.maps?.close();
      bpf.closeObject(o.id);
    }
  }
}

main();
