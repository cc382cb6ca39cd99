/**
 * Runs one frame through the real program and holds it to the model: a reply must be the
 * model's bytes exactly and pass the independent reply checker (addresses, ports, lengths,
 * checksums) and decode as DNS; a pass must hand back the frame untouched; either way the
 * counters the run moved must be the ones the model names.
 */
import * as dnsPacket from 'dns-packet';
import { verifyReply } from '../../support/packets';
import { SantaUnderTest, XDP_PASS, XDP_TX } from '../../xdp/harness';
import { decide, Decision, ModelWorld } from '../model';

export interface Verdict {
  decision: Decision;
  /** Empty when the program agreed with the model. */
  problems: string[];
  retval: number;
  out: Buffer;
}

function expectedCounters(d: Decision): Record<string, number> {
  if (d.verdict === 'tx') return { PACKETS: 1, DNS_QUERIES: 1, HITS: 1, TX_BYTES: d.reply.length };
  const moved: Record<string, number> = { PACKETS: 1, [d.reason]: 1 };
  if (d.dnsQuery) moved.DNS_QUERIES = 1;
  return moved;
}

function sameCounters(a: Record<string, number>, b: Record<string, number>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if ((a[k] ?? 0) !== (b[k] ?? 0)) return false;
  return true;
}

export function runCase(santa: SantaUnderTest, world: Omit<ModelWorld, 'nowJiffies'>, frame: Buffer): Verdict {
  // Leases are either long gone or far away, so reading the clock before the run is exact.
  const decision = decide({ ...world, nowJiffies: santa.maps.leaseJiffies(process.hrtime.bigint()) }, frame);
  const got = santa.run(frame);
  const problems: string[] = [];
  const want = expectedCounters(decision);
  if (!sameCounters(got.moved, want)) problems.push(`counters moved ${JSON.stringify(got.moved)}, model says ${JSON.stringify(want)}`);
  if (decision.verdict === 'tx') {
    if (got.retval !== XDP_TX) problems.push(`retval ${got.retval}, model says XDP_TX`);
    else {
      if (!got.out.equals(decision.reply)) problems.push(`reply differs from the model at byte ${firstDifference(got.out, decision.reply)}: got ${got.out.toString('hex')}, model ${decision.reply.toString('hex')}`);
      try {
        const { dns } = verifyReply(frame, got.out);
        dnsPacket.decode(dns);
      } catch (e) {
        problems.push(`reply check: ${(e as Error).message}`);
      }
    }
  } else {
    if (got.retval !== XDP_PASS) problems.push(`retval ${got.retval}, model says XDP_PASS (${decision.reason})`);
    if (!got.out.equals(frame)) problems.push(`passed frame was changed (first difference at byte ${firstDifference(got.out, frame)}): ${got.out.toString('hex')}`);
  }
  return { decision, problems, retval: got.retval, out: got.out };
}

function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

export function outcomeName(d: Decision): string {
  return d.verdict === 'tx' ? 'TX' : d.reason;
}
