/**
 * What response rate limiting costs the program per packet: the same IPv4 hit with RRL off,
 * on (log-only, so every run debits its bucket and is still answered), limited and dropped,
 * and limited and slipped; beside the minimal swap-and-transmit responder. Kernel bpf_stats
 * (run_time_ns / run_cnt) over N BPF_PROG_TEST_RUN calls with repeat = 1, median of R rounds.
 * Numbers, not assertions. Needs root.
 *
 *   npx tsx test/rrl/bench-rrl-cost.ts [--runs N] [--rounds R]
 */
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { parseStatements } from '../../sidecar/named-conf/syntax';
import { santaAbi } from '../../sidecar/bpf/abi';
import { rrlConfigFromStatement } from '../../sidecar/rrl/config';
import { kernelHz } from '../../sidecar/rrl/hz';
import { RrlMaps } from '../../sidecar/rrl/maps';
import { REPO } from '../bpf/setup';
import { buildFrame, dnsQuery } from '../support/packets';
import { requireRoot } from '../support/require-root';
import { SantaUnderTest } from '../xdp/harness';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} needs a positive integer`);
  return v;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function main(): void {
  requireRoot('RRL cost benchmark');
  const runs = arg('--runs', 20_000);
  const rounds = arg('--rounds', 5);
  const santa = SantaUnderTest.load();
  const minimal = santa.bpf.loadObject(join(REPO, 'xdp', 'build', 'minimal.bpf.o'));
  const rrl = RrlMaps.open({ kind: 'fds', fds: santa.obj.maps }, santa.bpf, santaAbi());
  const statsFd = santa.bpf.enableStats();
  const hz = kernelHz();
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
}

main();
