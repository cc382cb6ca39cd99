/**
 * Where a query's time goes in santa_xdp: the program built again seven times, each build stopping
 * after one more stage, every build timed warm on a hit and on a miss beside the floor, all in the
 * same run. Rounds interleave the programs, so that the machine slowing down or speeding up (it
 * does, here, for seconds at a time) moves them all alike.
 *
 *   npx tsx test/bench/xdp-stages.ts [--runs N] [--rounds R] [--compare a.bpf.o,b.bpf.o]
 *
 * Stages (SANTA_BENCH_CUT in xdp/santa.bpf.c; built by make -C xdp build/santa-cut<N>.bpf.o):
 *   1 Ethernet, VLAN, IP, UDP   2 DNS header, question, OPT, miss filter   3 key: lower-case, hash
 *   4 index lookup, key compare, lease   5 cookie, size limit, rate limiting (off here)
 *   6 resize the frame   7 L2, IP, UDP and DNS headers   8 the answer bytes and counters (the
 *   whole program)
 * Method: live-frame test runs through the replay wrapper (replay.ts), which writes the query back
 * before every run, so the stages that rewrite the frame are timed like the rest; bpf_stats of the
 * wrapper, minus the wrapper calling a program that only returns XDP_TX. Numbers, not assertions.
 * --compare times other builds of the whole program on the same hit and miss in the same rounds:
 * an A/B test of a change, immune to the machine's swings that separate runs are not.
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
import { Replay, roundOrder } from './replay';
import { createTopology } from '../support/netns';
import { median } from './paper/stats';
import { CUT_BUILDS, MISS_STAGES, STAGES } from './stages';

const NAME = 'www.example.test';

/** --compare's object files, comma-separated. */
function compareArg(): string[] {
  const i = process.argv.indexOf('--compare');
  if (i < 0) return [];
  const paths = (process.argv[i + 1] ?? '').split(',').filter((p) => p !== '');
  if (paths.length === 0) throw new Error('--compare needs object files, comma-separated');
  return paths;
}

async function main(): Promise<void> {
  requireRoot('xdp-stages benchmark');
  const runs = positiveIntArg('--runs', 20_000);
  const rounds = positiveIntArg('--rounds', 15);
  buildNativeAndFixtures();
  buildSantaObject();
  // The last stage is the whole program: no cut build for it.
  const cuts = CUT_BUILDS;
  execFileSync('make', ['-s', '-C', join(REPO, 'xdp'), 'build/replay.bpf.o', ...cuts], { stdio: 'inherit' });

  const bpf = loadNative();
  const abi = santaAbi();
  const opened: Array<{ maps: SantaMaps; id: number }> = [];
  const statsFd = bpf.enableStats();
  const topo = await createTopology();
  const replay = Replay.load(bpf, topo.server.nsPath);
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
    // Loaded first: opened[0] and the compared builds after it are checked for hits below.
    const whole = { label: 'whole program', fd: load(SANTA_OBJ) };
    const compared = compareArg().map((path) => ({ label: `whole program (${path})`, fd: load(path) }));
    const programs = [{ label: 'floor', fd: replay.floorFd }, ...cuts.map((c) => ({ label: c, fd: load(join(REPO, 'xdp', c)) })), whole, ...compared];
    const frames = {
      hit: buildFrame({ src: '10.53.0.1', dst: '10.53.0.2' }, dnsQuery({ name: NAME })),
      miss: buildFrame({ src: '10.53.0.1', dst: '10.53.0.2' }, dnsQuery({ name: 'nothere.example.test' })),
    };
    const wholeBuilds = opened.slice(0, 1 + compared.length);
    const hitsBefore = wholeBuilds.map((o) => o.maps.readStats().HITS);
    const times = new Map<string, number[]>();
    for (let r = 0; r < rounds; r++) {
      for (const p of roundOrder(programs, r)) {
        for (const [kind, frame] of Object.entries(frames)) {
          const key = `${p.label}/${kind}`;
          times.set(key, [...(times.get(key) ?? []), replay.time(p.fd, frame, runs)]);
        }
      }
    }
    // The whole builds must have answered every hit run, or the hit column is of something else.
    wholeBuilds.forEach((o, i) => {
      const hits = o.maps.readStats().HITS - hitsBefore[i];
      if (hits !== rounds * runs) throw new Error(`${[whole, ...compared][i].label}: ${hits} hits in ${rounds * runs} hit runs`);
    });
    const t = (label: string, kind: string) => median(times.get(`${label}/${kind}`)!);
    const floor = t('floor', 'hit');
    console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}; live-frame test runs through the replay wrapper, bpf_stats over ${runs} runs, median of ${rounds} rounds; floor ${floor.toFixed(0)} ns`);
    console.log(`query: ${NAME} A, IPv4, no EDNS (the hit) and nothere.example.test A (the miss); own ns = minus the floor`);
    console.log('| stage | hit: own ns to the end of the stage | this stage | miss: own ns |');
    console.log('|---|---:|---:|---:|');
    const labels = [...cuts, whole.label];
    let before = floor;
    STAGES.forEach((name, i) => {
      const hit = t(labels[i], 'hit');
      const miss = i < MISS_STAGES ? (t(labels[i], 'miss') - floor).toFixed(0) : i === STAGES.length - 1 ? (t(whole.label, 'miss') - floor).toFixed(0) : '';
      console.log(`| ${i + 1}. ${name} | ${(hit - floor).toFixed(0)} | ${(hit - before).toFixed(0)} | ${miss} |`);
      before = hit;
    });
    for (const c of compared) console.log(`| ${c.label} | ${(t(c.label, 'hit') - floor).toFixed(0)} | | ${(t(c.label, 'miss') - floor).toFixed(0)} |`);
  } finally {
    replay.close();
    for (const o of opened.reverse()) {
      o.maps.close();
      bpf.closeObject(o.id);
    }
    bpf.closeFd(statsFd);
    await topo.destroy();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
