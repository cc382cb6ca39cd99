/**
 * The XDP program's own cost per packet: a hit, a miss, and the minimal swap-and-transmit
 * responder (xdp/bench/minimal.bpf.c) as the ceiling, all measured in the same run; then the
 * largest reply that fits on veth in native and in generic mode.
 *
 *   npx tsx test/bench/xdp-cost.ts [--runs N] [--rounds R] [--warm-rounds W] [--seconds S] [--qps Q] [--no-veth]
 *
 * Two methods, both reading kernel bpf_stats (run_time_ns / run_cnt of the program, enabled
 * through BPF_ENABLE_STATS while this script runs):
 *  1. test-run: N BPF_PROG_TEST_RUN calls with repeat = 1 (a hit rewrites its buffer, so every
 *     run starts from a fresh copy). Each run follows a syscall, so caches are cold: an upper
 *     bound. The miss is also timed with test-run repeat = N on one buffer (a miss leaves it
 *     unchanged), which is warm.
 *  2. live: dnsperf in a client namespace sends Q queries/s for S seconds over a veth pair to
 *     the program attached in native mode (the minimal responder in its place for the ceiling):
 *     warm caches, real frames, the figure the targets are about.
 *  3. warm: live-frame test runs (BPF_F_TEST_XDP_LIVE_FRAMES: page-pool frames in a loop, as a
 *     driver's poll runs them) through xdp/bench/replay.bpf.c, which writes the query back over
 *     each frame and tail-calls the program (see replay.ts): the hit repeated warm, on the same
 *     terms as the miss. Its floor is the wrapper calling a program that only returns XDP_TX.
 * A fourth reference, the minimal responder that first grows its frame by 16 bytes at the tail,
 * shows what one helper call costs here (helper calls are slow on machines with return-thunk
 * mitigations, and bpf_xdp_adjust_tail also clears what it adds: santa_xdp grows at the head
 * instead, ~11 ns warm). Each test-run row is the median of R rounds, each warm row of W rounds
 * (the cases in a different order each round). Needs root. Numbers, not
 * assertions; on a busy machine compare the ratios to the minimal responder more than the
 * absolute figures.
 *
 * Every method has a floor: bpf_stats times each run with two clock reads (about 90 ns on a
 * virtual machine whose clock reads are slow), test-run adds its own loop. An empty program
 * (XDP_PASS, nothing else) measured the same way shows that floor; "own" columns subtract it.
 * The targets of issue 2 are checked on the program's own cost; the ratio to the minimal
 * responder is given both raw (as the issue states it) and on own costs.
 */
import * as dnsPacket from 'dns-packet';
import { SantaUnderTest } from '../xdp/harness';
import { buildFrame, buildTcpFrame, dnsQuery } from '../support/packets';
import { loadNative } from '../../sidecar/bpf/native';
import { join } from 'path';
import { REPO } from '../bpf/setup';
import { requireRoot } from '../support/require-root';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { cpus, loadavg, tmpdir } from 'os';
import { dig, startVethSanta, txtEntryOfReplySize, VethSanta } from '../xdp/veth';
import { positiveIntArg } from './args';
import { Replay, roundOrder } from './replay';
import { createTopology } from '../support/netns';
import { median } from './paper/stats';
import { cacheKey, keyFlags } from '../../sidecar/bpf/codec';

const MINIMAL_OBJ = join(REPO, 'xdp', 'build', 'minimal.bpf.o');
const TARGET_HIT_NS = 100;
const TARGET_HIT_RATIO = 3.5;
const TARGET_MISS_NS = 60;

const arg = positiveIntArg;

/** One of issue 2's targets as a report line part: "hit <= 100 ns own (178.1: MISSED)". */
function target(what: string, value: number, limit: number, unit: 'ns own' | 'x minimal raw'): string {
  const shown = unit === 'ns own' ? value.toFixed(1) : `${value.toFixed(2)}x`;
  return `${what} <= ${limit}${unit === 'ns own' ? ' ' : ''}${unit} (${shown}: ${value <= limit ? 'met' : 'MISSED'})`;
}

interface Case {
  label: string;
  progFd: number;
  frame: Buffer;
  expectRetval: number;
}

async function main(): Promise<void> {
  requireRoot('xdp-cost benchmark');
  const runs = arg('--runs', 20_000);
  const rounds = arg('--rounds', 5);
  const santa = SantaUnderTest.load();
  const bpf = loadNative();
  const minimal = bpf.loadObject(MINIMAL_OBJ);
  const statsFd = bpf.enableStats();
  await Promise.resolve();
  try {
    const answers: dnsPacket.Answer[] = [{ name: 'www.example.test', type: 'A', ttl: 300, data: '192.0.2.1' }];
    santa.install({ name: 'www.example.test', slot: 1, answers });
    santa.install({ name: 'www.example.test', slot: 2, edns: true, answers });
    const big = Array.from({ length: 8 }, (_, i) => ({ name: 'big.example.test', type: 'A', ttl: 300, data: `192.0.2.${i + 1}` }));
    santa.install({ name: 'big.example.test', slot: 3, answers: big as dnsPacket.Answer[] });
    // The two misses are what their labels say: one the miss filter stops, one it lets through.
    const plain = keyFlags({ recursionDesired: false, edns: false, dnssecOk: false });
    const admits = (name: string) => santa.maps.filterAdmits(cacheKey({ name, type: 'A' }, plain));
    if (admits('nothere.example.test') || !admits('www.exampla.test')) throw new Error('the miss filter does not sort the two misses as their labels say');
    const v4 = { src: '10.53.0.1', dst: '10.53.0.2' };
    const v6 = { src: 'fd53::1', dst: 'fd53::2' };
    const hit4 = buildFrame(v4, dnsQuery({ name: 'www.example.test' }));
    const cases: Case[] = [
      { label: 'empty program (floor)', progFd: minimal.progs.empty_xdp, frame: hit4, expectRetval: 2 },
      { label: 'minimal responder (IPv4)', progFd: minimal.progs.minimal_xdp, frame: hit4, expectRetval: 3 },
      { label: 'minimal responder growing 16 B (+1 bpf_xdp_adjust_tail)', progFd: minimal.progs.minimal_grow_xdp, frame: hit4, expectRetval: 3 },
      { label: 'hit, IPv4, 1 A (grows 16 B)', progFd: santa.progFd, frame: hit4, expectRetval: 3 },
      { label: 'hit, IPv4, padded frame (shrinks)', progFd: santa.progFd, frame: buildFrame({ ...v4, padTo: 160 }, dnsQuery({ name: 'www.example.test' })), expectRetval: 3 },
      { label: 'hit, IPv6, EDNS', progFd: santa.progFd, frame: buildFrame(v6, dnsQuery({ name: 'www.example.test', edns: { udpSize: 1232 } })), expectRetval: 3 },
      { label: 'hit, IPv4, 8 A (grows 264 B)', progFd: santa.progFd, frame: buildFrame(v4, dnsQuery({ name: 'big.example.test' })), expectRetval: 3 },
      { label: 'miss, IPv4', progFd: santa.progFd, frame: buildFrame(v4, dnsQuery({ name: 'nothere.example.test' })), expectRetval: 2 },
      // The same first 8 name bytes and length as www.example.test: the miss filter lets it
      // through to the index, as it does a share of other misses (santa_abi.h).
      { label: 'miss, IPv4, past the miss filter', progFd: santa.progFd, frame: buildFrame(v4, dnsQuery({ name: 'www.exampla.test' })), expectRetval: 2 },
      { label: 'not DNS (UDP to port 123)', progFd: santa.progFd, frame: buildFrame({ ...v4, dport: 123 }, Buffer.alloc(48)), expectRetval: 2 },
      // Other services on the DNS server's address: each TCP segment is read for a zone change.
      { label: 'not DNS (TCP segment to port 443, 100 bytes)', progFd: santa.progFd, frame: buildTcpFrame({ ...v4, dport: 443 }, Buffer.alloc(100, 7)), expectRetval: 2 },
    ];

    const hitCase = cases.find((c) => c.label.startsWith('hit, IPv4, 1 A'))!;
    const missCase = cases.find((c) => c.label.startsWith('miss'))!;
    const perRound = new Map<string, number[]>();
    const missRepeat: number[] = [];
    const emptyRepeat: number[] = [];
    for (let round = 0; round < rounds; round++) {
      for (const c of cases) {
        const first = bpf.progTestRun(c.progFd, c.frame, { repeat: 1 });
        if (first.retval !== c.expectRetval) throw new Error(`${c.label}: program returned ${first.retval}, expected ${c.expectRetval}`);
        const before = bpf.progInfo(c.progFd);
        for (let i = 0; i < runs; i++) bpf.progTestRun(c.progFd, c.frame, { repeat: 1 });
        const after = bpf.progInfo(c.progFd);
        const ns = (after.runTimeNs - before.runTimeNs) / (after.runCnt - before.runCnt);
        perRound.set(c.label, [...(perRound.get(c.label) ?? []), ns]);
      }
      missRepeat.push(bpf.progTestRun(santa.progFd, missCase.frame, { repeat: runs }).durationNs);
      emptyRepeat.push(bpf.progTestRun(minimal.progs.empty_xdp, missCase.frame, { repeat: runs }).durationNs);
    }

    const ns = (label: string) => median(perRound.get(label)!);
    const floor = ns(cases[0].label);
    const own = (label: string) => ns(label) - floor;
    const minimalNs = ns(cases[1].label);
    // Shared CI machines run other work; the load says how much to trust absolute numbers.
    console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} CPUs`);
    console.log(`santa_xdp cost per packet: bpf_stats over ${runs} test runs (repeat=1), median of ${rounds} rounds`);
    console.log('| case | ns/packet | own ns (minus floor) | x minimal | own x minimal own |');
    console.log('|---|---:|---:|---:|---:|');
    for (const c of cases) {
      const ratio = c === cases[0] ? '' : (ns(c.label) / minimalNs).toFixed(2);
      const ownRatio = c === cases[0] ? '' : (own(c.label) / own(cases[1].label)).toFixed(2);
      console.log(`| ${c.label} | ${ns(c.label).toFixed(1)} | ${c === cases[0] ? '' : own(c.label).toFixed(1)} | ${ratio} | ${ownRatio} |`);
    }
    const warmMiss = median(missRepeat);
    const warmFloor = median(emptyRepeat);
    console.log(`| miss, IPv4, test-run repeat=${runs} (warm cross-check) | ${warmMiss.toFixed(1)} | ${(warmMiss - warmFloor).toFixed(1)} (empty: ${warmFloor.toFixed(1)}) | | |`);
    const hitOwn = own(hitCase.label);
    const missOwn = own(missCase.label);
    const hitRatio = ns(hitCase.label) / minimalNs;
    console.log(`targets: ${[target('hit', hitOwn, TARGET_HIT_NS, 'ns own'), target('hit', hitRatio, TARGET_HIT_RATIO, 'x minimal raw'), target('miss', missOwn, TARGET_MISS_NS, 'ns own')].join(', ')}`);
    // Warm rounds are cheap (no syscall per run): more of them, so the rotation covers every order.
    await warmCost(santa, cases.slice(1), runs, arg('--warm-rounds', 31));
  } finally {
    santa.close();
  }
  try {
    if (!process.argv.includes('--no-veth')) {
      await liveCost(minimal.progs.minimal_xdp, minimal.progs.empty_xdp, arg('--seconds', 3), arg('--qps', 20_000));
      for (const mode of ['native', 'generic'] as const) await largestReply(mode);
    }
  } finally {
    bpf.closeFd(statsFd);
    bpf.closeObject(minimal.id);
  }
}

/** Method 3: every case run warm through the replay wrapper, in a namespace made for it. */
async function warmCost(santa: SantaUnderTest, cases: Case[], runs: number, rounds: number): Promise<void> {
  const bpf = loadNative();
  const topo = await createTopology();
  const replay = Replay.load(bpf, topo.server.nsPath);
  try {
    const times = new Map<string, number[]>();
    const floors: number[] = [];
    for (let round = 0; round < rounds; round++) {
      floors.push(replay.time(replay.floorFd, cases[0].frame, runs));
      for (const c of roundOrder(cases, round)) {
        const before = santa.maps.readStats();
        const ns = replay.time(c.progFd, c.frame, runs);
        if (c.progFd === santa.progFd) {
          // Every run must have been the case it is named for, or the figure is of something else.
          const after = santa.maps.readStats();
          const hits = Number(after.HITS - before.HITS);
          const want = c.expectRetval === 3 ? runs : 0;
          if (hits !== want) throw new Error(`warm ${c.label}: ${hits} hits in ${runs} runs, expected ${want}`);
        }
        times.set(c.label, [...(times.get(c.label) ?? []), ns]);
      }
    }
    const floor = median(floors);
    console.log(`\nwarm: live-frame test runs through the replay wrapper, bpf_stats over ${runs} runs, median of ${rounds} rounds`);
    console.log('| case | ns/packet | own ns (minus floor) |');
    console.log('|---|---:|---:|');
    console.log(`| replay wrapper + XDP_TX only (floor) | ${floor.toFixed(1)} | |`);
    for (const c of cases) console.log(`| ${c.label} | ${median(times.get(c.label)!).toFixed(1)} | ${(median(times.get(c.label)!) - floor).toFixed(1)} |`);
    const own = (prefix: string) => median(times.get(cases.find((c) => c.label.startsWith(prefix))!.label)!) - floor;
    const hitOwn = own('hit, IPv4, 1 A');
    const missOwn = own('miss');
    console.log(`targets (warm): ${[target('hit', hitOwn, TARGET_HIT_NS, 'ns own'), target('miss', missOwn, TARGET_MISS_NS, 'ns own')].join(', ')}`);
  } finally {
    replay.close();
    await topo.destroy();
  }
}

/** ns per packet of the program attached to the server veth while dnsperf sends `queries`. */
async function measureLive(v: VethSanta, progFd: number, queries: string, seconds: number, qps: number): Promise<{ ns: number; packets: number }> {
  const bpf = loadNative();
  const dir = mkdtempSync(join(tmpdir(), 'santa-bench-'));
  try {
    const file = join(dir, 'queries');
    writeFileSync(file, queries);
    const before = bpf.progInfo(progFd);
    await v.topo.exec(v.topo.client, ['dnsperf', '-s', v.topo.server.v4, '-d', file, '-l', String(seconds), '-Q', String(qps), '-c', '1', '-t', '1', '-q', String(qps)], {
      timeoutMs: (seconds + 15) * 1000,
      allowFailure: true,
    });
    const after = bpf.progInfo(progFd);
    const packets = after.runCnt - before.runCnt;
    return { ns: (after.runTimeNs - before.runTimeNs) / packets, packets };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function liveCost(minimalFd: number, emptyFd: number, seconds: number, qps: number): Promise<void> {
  const v = await startVethSanta('native');
  try {
    // dnsperf sets RD.
    v.santa.install({ name: 'www.example.test', slot: 1, rd: true, answers: [{ name: 'www.example.test', type: 'A', ttl: 300, data: '192.0.2.1' }] });
    const hit = await measureLive(v, v.santa.progFd, 'www.example.test A\n', seconds, qps);
    const hits = v.santa.maps.readStats().HITS;
    const miss = await measureLive(v, v.santa.progFd, 'nothere.example.test A\n', seconds, qps);
    v.santa.bpf.attachXdp(minimalFd, v.topo.server.ifname, 'native', v.topo.server.nsPath, { replace: true });
    const min = await measureLive(v, minimalFd, 'www.example.test A\n', seconds, qps);
    v.santa.bpf.attachXdp(emptyFd, v.topo.server.ifname, 'native', v.topo.server.nsPath, { replace: true });
    const empty = await measureLive(v, emptyFd, 'www.example.test A\n', seconds, qps);
    const own = (x: { ns: number }) => x.ns - empty.ns;
    console.log(`\nlive, native XDP on veth, dnsperf ${qps} q/s for ${seconds} s per row (bpf_stats run_time_ns/run_cnt)`);
    console.log('| case | ns/packet | own ns (minus floor) | x minimal | packets |');
    console.log('|---|---:|---:|---:|---:|');
    console.log(`| empty program (floor) | ${empty.ns.toFixed(1)} | | | ${empty.packets} |`);
    console.log(`| minimal responder | ${min.ns.toFixed(1)} | ${own(min).toFixed(1)} | 1.00 | ${min.packets} |`);
    console.log(`| hit (1 A, RD, non-EDNS) | ${hit.ns.toFixed(1)} | ${own(hit).toFixed(1)} | ${(hit.ns / min.ns).toFixed(2)} | ${hit.packets} (${hits} replies) |`);
    console.log(`| miss | ${miss.ns.toFixed(1)} | ${own(miss).toFixed(1)} | ${(miss.ns / min.ns).toFixed(2)} | ${miss.packets} |`);
    console.log(`targets: ${[target('hit', own(hit), TARGET_HIT_NS, 'ns own'), target('hit', hit.ns / min.ns, TARGET_HIT_RATIO, 'x minimal raw'), target('miss', own(miss), TARGET_MISS_NS, 'ns own')].join(', ')}`);
  } finally {
    await v.close();
  }
}

/** Grows an EDNS reply 4 bytes at a time until the program counts PASS_NO_ROOM. */
async function largestReply(mode: 'native' | 'generic'): Promise<void> {
  const v = await startVethSanta(mode);
  try {
    const name = 'size.example.test';
    let fits = 0;
    let firstMiss = 0;
    let query = 0;
    for (let size = 120; size <= 1232; size += 4) {
      v.santa.install(txtEntryOfReplySize(name, size, 1));
      const before = v.santa.maps.readStats();
      const r = await dig(v, name, 'TXT');
      const after = v.santa.maps.readStats();
      if (after.HITS > before.HITS && r.code === 0) {
        fits = size;
        continue;
      }
      if (after.PASS_NO_ROOM > before.PASS_NO_ROOM) {
        firstMiss = size;
        query = 14 + 20 + 8 + 12 + (name.length + 2) + 4 + 11;
        break;
      }
      throw new Error(`${mode}: a ${size}-byte reply neither arrived nor counted NO_ROOM: ${r.output}`);
    }
    const overhead = 14 + 20 + 8;
    console.log(
      `largest reply on veth, ${mode} mode: ${fits} DNS bytes (${fits + overhead}-byte frame, ` +
        (firstMiss ? `${fits + overhead - query} bytes of growth from a ${query}-byte query); ${firstMiss} bytes: PASS_NO_ROOM` : 'every size up to 1232 fits)'),
    );
  } finally {
    await v.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
