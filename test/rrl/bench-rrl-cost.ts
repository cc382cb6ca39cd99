/**
 * What response rate limiting costs the program per packet: the same IPv4 hit with RRL off,
 * on (log-only, so every run debits its bucket and is still answered), limited and dropped,
 * and limited and slipped; beside the minimal swap-and-transmit responder. Kernel bpf_stats
 * (run_time_ns / run_cnt) over N BPF_PROG_TEST_RUN calls with repeat = 1, median of R rounds.
 * With --live, also the program attached in native mode to a veth pair while dnsperf sends
 * Q queries/s for S seconds: RRL off, and on in log-only (every query debits its bucket and
 * is answered), warm caches and real frames. Numbers, not assertions. Needs root.
 *
 *   npx tsx test/rrl/bench-rrl-cost.ts [--runs N] [--rounds R] [--live [--seconds S] [--qps Q]]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg, tmpdir } from 'node:os';
import { parseStatements } from '../../sidecar/named-conf/syntax';
import { santaAbi } from '../../sidecar/bpf/abi';
import { rrlConfigFromStatement } from '../../sidecar/rrl/config';
import { kernelClock } from '../../sidecar/bpf/kernel-clock';
import { RrlMaps } from '../../sidecar/rrl/maps';
import { REPO } from '../bpf/setup';
import { buildFrame, dnsQuery } from '../support/packets';
import { requireRoot } from '../support/require-root';
import { SantaUnderTest } from '../xdp/harness';
import { startVethSanta } from '../xdp/veth';
import { positiveIntArg } from '../bench/args';
import { median } from '../bench/paper/stats';

const arg = positiveIntArg;


async function main(): Promise<void> {
  requireRoot('RRL cost benchmark');
  const runs = arg('--runs', 20_000);
  const rounds = arg('--rounds', 5);
  const santa = SantaUnderTest.load();
  const minimal = santa.bpf.loadObject(join(REPO, 'xdp', 'build', 'minimal.bpf.o'));
  const rrl = RrlMaps.open({ kind: 'fds', fds: santa.obj.maps }, santa.bpf, santaAbi());
  const statsFd = santa.bpf.enableStats();
  const hz = kernelClock().hz;
  const limits = (block: string) => rrl.writeConfig(rrlConfigFromStatement(parseStatements(`rate-limit { ${block} };`, 'bench')[0]), hz);
  try {
    santa.install({ name: 'www.example.test', slot: 1, answers: [{ name: 'www.example.test', type: 'A', ttl: 300, data: '192.0.2.1' }] });
    const frame = buildFrame({ src: '10.53.0.1', dst: '10.53.0.2' }, dnsQuery({ name: 'www.example.test' }));
    const cases: Array<{ label: string; setup: () => void; fd: number; retval: number }> = [
      { label: 'minimal responder', setup: () => undefined, fd: minimal.progs.minimal_xdp, retval: 3 },
      { label: 'hit, RRL off', setup: () => rrl.writeConfig(null, hz), fd: santa.progFd, retval: 3 },
      { label: 'hit, RRL on (log-only: bucket debited, answered)', setup: () => limits('responses-per-second 1; log-only yes;'), fd: santa.progFd, retval: 3 },
      { label: 'hit, RRL on, all-per-second too (two buckets)', setup: () => limits('responses-per-second 1; all-per-second 1; log-only yes;'), fd: santa.progFd, retval: 3 },
      { label: 'limited: dropped (slip 0)', setup: () => limits('responses-per-second 1; slip 0;'), fd: santa.progFd, retval: 1 },
      { label: 'limited: slipped (slip 1)', setup: () => limits('responses-per-second 1; slip 1;'), fd: santa.progFd, retval: 3 },
    ];
    const perRound = new Map<string, number[]>();
    for (let round = 0; round < rounds; round++) {
      for (const c of cases) {
        c.setup();
        rrl.clearBuckets();
        santa.bpf.progTestRun(c.fd, frame, { repeat: 1 }); // the bucket exists from here on
        const first = santa.bpf.progTestRun(c.fd, frame, { repeat: 1 });
        if (first.retval !== c.retval) throw new Error(`${c.label}: program returned ${first.retval}, expected ${c.retval}`);
        const before = santa.bpf.progInfo(c.fd);
        for (let i = 0; i < runs; i++) santa.bpf.progTestRun(c.fd, frame, { repeat: 1 });
        const after = santa.bpf.progInfo(c.fd);
        perRound.set(c.label, [...(perRound.get(c.label) ?? []), (after.runTimeNs - before.runTimeNs) / (after.runCnt - before.runCnt)]);
      }
    }
    const base = median(perRound.get(cases[0].label)!);
    console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}; bpf_stats over ${runs} test runs (repeat=1), median of ${rounds} rounds`);
    console.log('| case | ns/packet | x minimal |');
    console.log('|---|---:|---:|');
    for (const c of cases) {
      const ns = median(perRound.get(c.label)!);
      console.log(`| ${c.label} | ${ns.toFixed(1)} | ${(ns / base).toFixed(2)} |`);
    }
  } finally {
    santa.bpf.closeFd(statsFd);
    rrl.close();
    santa.bpf.closeObject(minimal.id);
    santa.close();
  }
  if (process.argv.includes('--live')) await live(arg('--seconds', 3), arg('--qps', 20_000), arg('--rounds', 3));
}

/** ns per packet of the attached program while dnsperf asks for the cached name. */
async function live(seconds: number, qps: number, rounds: number): Promise<void> {
  const v = await startVethSanta('native');
  const rrl = RrlMaps.open({ kind: 'fds', fds: v.santa.obj.maps }, v.santa.bpf, santaAbi());
  const statsFd = v.santa.bpf.enableStats();
  const dir = mkdtempSync(join(tmpdir(), 'santa-rrl-bench-'));
  const hz = kernelClock().hz;
  try {
    // dnsperf sets RD.
    v.santa.install({ name: 'www.example.test', slot: 1, rd: true, answers: [{ name: 'www.example.test', type: 'A', ttl: 300, data: '192.0.2.1' }] });
    const file = join(dir, 'queries');
    writeFileSync(file, 'www.example.test A\n');
    const measure = async () => {
      const before = v.santa.bpf.progInfo(v.santa.progFd);
      await v.topo.exec(v.topo.client, ['dnsperf', '-s', v.topo.server.v4, '-d', file, '-l', String(seconds), '-Q', String(qps), '-c', '1', '-t', '1', '-q', String(qps)], {
        timeoutMs: (seconds + 15) * 1000,
        allowFailure: true,
      });
      const after = v.santa.bpf.progInfo(v.santa.progFd);
      return { ns: (after.runTimeNs - before.runTimeNs) / (after.runCnt - before.runCnt), packets: after.runCnt - before.runCnt };
    };
    const rows: Record<string, number[]> = { 'hit, RRL off': [], 'hit, RRL on (log-only)': [] };
    for (let r = 0; r < rounds; r++) {
      rrl.writeConfig(null, hz);
      rows['hit, RRL off'].push((await measure()).ns);
      rrl.writeConfig(rrlConfigFromStatement(parseStatements('rate-limit { responses-per-second 1; log-only yes; };', 'bench')[0]), hz);
      rows['hit, RRL on (log-only)'].push((await measure()).ns);
    }
    const stats = v.santa.maps.readStats();
    console.log(`\nlive, native XDP on veth, dnsperf ${qps} q/s for ${seconds} s per row, median of ${rounds} (${stats.RRL_WOULD_LIMIT} queries over the limit, all answered)`);
    console.log('| case | ns/packet |');
    console.log('|---|---:|');
    for (const [label, xs] of Object.entries(rows)) console.log(`| ${label} | ${median(xs).toFixed(1)} |`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    v.santa.bpf.closeFd(statsFd);
    rrl.close();
    await v.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
