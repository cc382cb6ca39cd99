/**
 * What santa_xdp executes per packet, counted: BPF instructions (as compiled, before the
 * verifier inlines array lookups), map lookups and helper calls, for the cases xdp-cost times,
 * and per stage for the hit and the miss xdp-stages times (the same cut builds). Counted by
 * bpf-vm on the real maps' contents; bpf-vm.test.ts checks that it runs the program as the
 * kernel does. The figures change only with the code, save one: a miss the filter lets through
 * reads the ways of its two index groups, so it takes a few instructions more when the loader's
 * random hash seed puts a cached key in them (645-651 seen). Beside xdp-stages'
 * nanoseconds they say whether a stage costs what it does because of how much it executes.
 *
 *   npx tsx test/bench/xdp-path.ts
 */
import { execFileSync } from 'child_process';
import { join } from 'path';
import { buildFrame, buildTcpFrame, dnsQuery, FrameSpec, QuerySpec } from '../support/packets';
import { requireRoot } from '../support/require-root';
import { monotonicNs, SantaUnderTest } from '../xdp/harness';
import { REPO, XDP_PASS, XDP_TX } from '../bpf/setup';
import { BpfProgram, readBpfObject, runXdp, VmCounts } from './bpf-vm';
import { readMapImages } from './map-images';
import { CUT_BUILDS, MISS_STAGES, STAGES } from './stages';

const HELPER_NAMES: Record<number, string> = { 5: 'ktime', 44: 'adjust_head', 65: 'adjust_tail', 118: 'jiffies64', 189: 'load_bytes', 190: 'store_bytes' };

const v4: FrameSpec = { src: '10.53.0.1', dst: '10.53.0.2' };
const v6: FrameSpec = { src: 'fd00::1', dst: 'fd00::2' };
/** xdp-cost's cases, with the entries they need. */
const CASES: Array<{ label: string; spec: FrameSpec; query: QuerySpec; frame?: Buffer }> = [
  { label: 'hit, IPv4, 1 A', spec: v4, query: { name: 'www.example.test' } },
  { label: 'hit, IPv4, padded frame (shrinks)', spec: { ...v4, padTo: 200 }, query: { name: 'www.example.test' } },
  { label: 'hit, IPv6, EDNS', spec: v6, query: { name: 'www.example.test', edns: { udpSize: 1232 } } },
  { label: 'hit, IPv4, 8 A', spec: v4, query: { name: 'many.example.test' } },
  { label: 'miss, IPv4', spec: v4, query: { name: 'nothere.example.test' } },
  { label: 'miss, IPv4, past the miss filter', spec: v4, query: { name: 'www.exampla.test' } },
  { label: 'not DNS (UDP to port 123)', spec: { ...v4, dport: 123 }, query: { name: 'www.example.test' } },
  // Other services on the DNS server's address: every TCP segment to it is read for a zone
  // change (zone_guard.h), straight from the frame.
  { label: 'not DNS (TCP segment to port 443, 100 bytes)', spec: v4, query: { name: '' }, frame: buildTcpFrame({ ...v4, dport: 443 }, Buffer.alloc(100, 7)) },
];

function helpers(c: VmCounts): string {
  const parts = [...c.helpers.entries()].map(([id, n]) => `${HELPER_NAMES[id] ?? `#${id}`}${n > 1 ? ` x${n}` : ''}`);
  return parts.length ? parts.join(', ') : '–';
}

function main(): void {
  requireRoot('xdp-path benchmark');
  const cuts = CUT_BUILDS;
  execFileSync('make', ['-s', '-C', join(REPO, 'xdp'), 'build/minimal.bpf.o', ...cuts], { stdio: 'inherit' });
  const santa = SantaUnderTest.load();
  try {
    const a = (name: string, n: number) => Array.from({ length: n }, (_, i) => ({ name, type: 'A' as const, ttl: 300, data: `192.0.2.${i + 1}` }));
    santa.install({ name: 'www.example.test', answers: a('www.example.test', 1), slot: 1 });
    santa.install({ name: 'www.example.test', edns: true, answers: a('www.example.test', 1), slot: 2 });
    santa.install({ name: 'many.example.test', answers: a('many.example.test', 8), slot: 3 });
    const images = readMapImages(santa.bpf, santa.obj);
    const jiffies = santa.maps.leaseJiffies(monotonicNs());
    const programs = new Map<string, BpfProgram>();
    const program = (path: string, name: string): BpfProgram => {
      if (!programs.has(path)) programs.set(path, readBpfObject(path, 'xdp', name));
      return programs.get(path)!;
    };
    const count = (path: string, name: string, spec: FrameSpec, query: QuerySpec, frame?: Buffer) =>
      runXdp(program(path, name), images, frame ?? buildFrame(spec, dnsQuery(query)), { jiffies });
    const verdict = (retval: number) => (retval === XDP_TX ? 'TX' : retval === XDP_PASS ? 'PASS' : String(retval));
    const whole = join(REPO, 'xdp', 'build', 'santa.bpf.o');

    console.log('santa_xdp per packet, counted by bpf-vm (instructions as compiled; the verifier turns each array lookup into ~8 inline ones)');
    console.log('| case | verdict | BPF instructions | map lookups | helper calls | reply bytes |');
    console.log('|---|---|---:|---:|---|---:|');
    const minimal = count(join(REPO, 'xdp', 'build', 'minimal.bpf.o'), 'minimal_xdp', v4, { name: 'www.example.test' });
    console.log(`| minimal responder (IPv4) | ${verdict(minimal.retval)} | ${minimal.counts.instructions} | ${minimal.counts.mapLookups} | ${helpers(minimal.counts)} | ${minimal.frame.length} |`);
    for (const c of CASES) {
      const r = count(whole, 'santa_xdp', c.spec, c.query, c.frame);
      console.log(`| ${c.label} | ${verdict(r.retval)} | ${r.counts.instructions} | ${r.counts.mapLookups} | ${helpers(r.counts)} | ${r.retval === XDP_TX ? r.frame.length : '–'} |`);
    }

    console.log('');
    console.log('by stage (builds cut after each stage, as xdp-stages): www.example.test A, IPv4, no EDNS (the hit) and nothere.example.test A (the miss)');
    console.log('| stage | hit: instructions to the end of the stage | this stage | miss: instructions |');
    console.log('|---|---:|---:|---:|');
    const paths = [...cuts.map((c) => join(REPO, 'xdp', c)), whole];
    let before = 0;
    STAGES.forEach((stage, i) => {
      const hit = count(paths[i], 'santa_xdp', v4, { name: 'www.example.test' }).counts.instructions;
      const miss = i < MISS_STAGES || i === STAGES.length - 1 ? String(count(paths[i], 'santa_xdp', v4, { name: 'nothere.example.test' }).counts.instructions) : '';
      console.log(`| ${i + 1}. ${stage} | ${hit} | ${hit - before} | ${miss} |`);
      before = hit;
    });
  } finally {
    santa.close();
  }
}

main();
