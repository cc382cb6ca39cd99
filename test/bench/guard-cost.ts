/**
 * What the loopback guard (santa_lo_guard, a tc ingress program on lo) costs each packet that
 * crosses lo, where everything local travels: a resolver on the same host forwarding to BIND,
 * Santa's own checks, databases, HTTP. The guard never changes a packet, so a test run with
 * repeat = N on one buffer repeats the same run warm; bpf_stats-free, the kernel's own average
 * per repetition (durationNs). An empty tc program timed the same way is the floor.
 *
 *   npx tsx test/bench/guard-cost.ts [--runs N] [--rounds R]
 *
 * Needs root. Numbers, not assertions: each row is the median of R rounds.
 */
import { join } from 'path';
import { santaAbi } from '../../sidecar/bpf/abi';
import { REPO } from '../bpf/setup';
import { buildFrame, buildTcpFrame, dnsOverTcp, dnsQuery, type FrameSpec } from '../support/packets';
import { requireRoot } from '../support/require-root';
import { updateMessage } from '../support/zone-messages';
import { SantaUnderTest } from '../xdp/harness';
import { positiveIntArg } from './args';
import { median } from './paper/stats';

const MINIMAL_OBJ = join(REPO, 'xdp', 'build', 'minimal.bpf.o');
const TC_ACT_UNSPEC = 0xffffffff;

function main(): void {
  requireRoot('guard-cost benchmark');
  const runs = positiveIntArg('--runs', 100_000);
  const rounds = positiveIntArg('--rounds', 9);
  const santa = SantaUnderTest.load();
  const minimal = santa.bpf.loadObject(MINIMAL_OBJ);
  try {
    const guard = santa.obj.progs[santaAbi().loopbackGuard.progName];
    const lo4: FrameSpec = { src: '127.0.0.1', dst: '127.0.0.1', sport: 41000 };
    const lo6: FrameSpec = { src: '::1', dst: '::1', sport: 41000 };
    const cases = [
      { label: 'empty tc program (floor)', fd: minimal.progs.empty_tc, frame: buildFrame(lo4, dnsQuery({ name: 'www.example.test' })), bumps: 0 },
      { label: 'DNS query over UDP to 127.0.0.1:53 (a local resolver forwarding)', fd: guard, frame: buildFrame(lo4, dnsQuery({ name: 'www.example.test' })), bumps: 0 },
      { label: 'DNS query over UDP to [::1]:53', fd: guard, frame: buildFrame(lo6, dnsQuery({ name: 'www.example.test' })), bumps: 0 },
      { label: 'TCP segment to port 5432, 1000 bytes (not DNS)', fd: guard, frame: buildTcpFrame({ ...lo4, dport: 5432 }, Buffer.alloc(1000, 7)), bumps: 0 },
      { label: 'UDP datagram to port 8125, 200 bytes (not DNS)', fd: guard, frame: buildFrame({ ...lo4, dport: 8125 }, Buffer.alloc(200, 7)), bumps: 0 },
      { label: 'UPDATE over UDP to 127.0.0.1:53 (bumps its zone)', fd: guard, frame: buildFrame(lo4, updateMessage('example.test')), bumps: 1 },
      { label: 'UPDATE over TCP to 127.0.0.1:53 (bumps its zone)', fd: guard, frame: buildTcpFrame(lo4, dnsOverTcp(updateMessage('example.test'))), bumps: 1 },
    ];
    const times = new Map<string, number[]>();
    for (let round = 0; round < rounds; round++) {
      for (const c of cases) {
        // Each case must do what its label says, or the figure is of something else.
        if (c.fd === guard) {
          const once = santa.runLoopbackGuard(c.frame);
          if ((once.moved.LOOPBACK_ZONE_CHANGES ?? 0) !== c.bumps) throw new Error(`${c.label}: moved ${JSON.stringify(once.moved)}`);
        }
        const r = santa.bpf.progTestRun(c.fd, c.frame, { repeat: runs });
        if (r.retval !== TC_ACT_UNSPEC) throw new Error(`${c.label}: returned ${r.retval}`);
        times.set(c.label, [...(times.get(c.label) ?? []), r.durationNs]);
      }
    }
    const floor = median(times.get(cases[0].label)!);
    console.log(`santa_lo_guard cost per packet on lo: test runs with repeat=${runs}, median of ${rounds} rounds`);
    console.log('| packet | ns/packet | own ns (minus floor) |');
    console.log('|---|---:|---:|');
    for (const c of cases) {
      const ns = median(times.get(c.label)!);
      console.log(`| ${c.label} | ${ns.toFixed(1)} | ${c === cases[0] ? '' : (ns - floor).toFixed(1)} |`);
    }
  } finally {
    santa.bpf.closeObject(minimal.id);
    santa.close();
  }
}

main();
