/**
 * Runs one frame through the real program and holds it to the model: a reply must be the
 * model's bytes exactly and pass the independent reply checker (addresses, ports, lengths,
 * checksums) and decode as DNS; a pass must hand back the frame untouched; a drop must be a
 * drop; either way the counters the run moved must be the ones the model names.
 *
 * Two inputs of the model are clocks the program reads during the run: the wall-clock second
 * that cookies are checked against and minted with, and the jiffies second of the rate
 * limiter's buckets. Both are read around the run; a cookie reply's own timestamp (checked to
 * lie in that window) says which second the program used, and the limiter's bucket says its
 * second (xdp/limiter.ts). Everything else, the server cookie's hash and every checksum
 * included, the model computes.
 */
import * as dnsPacket from 'dns-packet';
import { verifyReply } from '../../support/packets';
import { SantaUnderTest, XDP_PASS, XDP_TX } from '../../xdp/harness';
import { applyRrl, decide, Decision, LimitedDecision, loopbackZoneChangeOf, ModelSettings, ModelWorld, skbTestRunRefuses } from '../model';
import { servesPort } from '../model/addresses';
import type { FuzzLimiter } from './limiter';

export const XDP_DROP = 1;

export interface Verdict {
  decision: LimitedDecision;
  /** Empty when the program agreed with the model. */
  problems: string[];
  retval: number;
  out: Buffer;
}

export type CaseWorld = Omit<ModelWorld, 'nowJiffies' | 'nowSeconds' | 'zoneGens'> & {
  /** The zone change guard's generations, which runCase bumps as the program does. */
  zoneGens: Map<number, number>;
  /** A zone's slot (SantaMaps.zoneSlot of its lower-cased wire name). */
  zoneSlot: (apex: Buffer) => number;
};

/** The program's wall-clock second at monotonic time `ns` under these settings (0: cookies off). */
export function wallSecond(settings: ModelSettings, ns: bigint): number {
  if (!settings.cookie) return 0;
  return Number(((ns + settings.cookie.clockOffsetNs) / 1_000_000_000n) & 0xffffffffn);
}

function expectedCounters(d: LimitedDecision): Record<string, number> {
  switch (d.verdict) {
    case 'tx':
      return { PACKETS: 1, DNS_QUERIES: 1, HITS: 1, TX_BYTES: d.reply.length, ...(d.wouldLimit ? { RRL_WOULD_LIMIT: 1 } : {}) };
    case 'slip':
      return { PACKETS: 1, DNS_QUERIES: 1, RRL_SLIPPED: 1, TX_BYTES: d.reply.length };
    case 'drop':
      return { PACKETS: 1, DNS_QUERIES: 1, RRL_DROPPED: 1 };
    default: {
      const moved: Record<string, number> = { PACKETS: 1, [d.reason]: 1 };
      if (d.dnsQuery) moved.DNS_QUERIES = 1;
      if (d.zoneChange) moved.ZONE_CHANGES = 1;
      return moved;
    }
  }
}

function sameCounters(a: Record<string, number>, b: Record<string, number>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if ((a[k] ?? 0) !== (b[k] ?? 0)) return false;
  return true;
}

/** Where a cookie reply's server-cookie timestamp sits: the COOKIE option ends the frame. */
const TIMESTAMP_FROM_END = 12;

export function runCase(santa: SantaUnderTest, world: CaseWorld, frame: Buffer, limiter?: FuzzLimiter): Verdict {
  // Leases are either long gone or far away, so reading the clock before the run is exact.
  const before = process.hrtime.bigint();
  const nowJiffies = santa.maps.leaseJiffies(before);
  const got = santa.run(frame);
  const after = process.hrtime.bigint();
  const decideAt = (nowSeconds: number): Decision => decide({ ...world, nowJiffies, nowSeconds }, frame);

  const lo = wallSecond(world.settings, before);
  const hi = wallSecond(world.settings, after);
  let answer = decideAt(lo);
  const problems: string[] = [];
  if (answer.verdict === 'tx' && answer.cookie && got.retval === XDP_TX && got.out.length >= TIMESTAMP_FROM_END) {
    // The program's second, from its reply; held to the clock, then the model redone with it.
    const stamped = got.out.readUInt32BE(got.out.length - TIMESTAMP_FROM_END);
    if (((stamped - lo) | 0) < -1 || ((stamped - hi) | 0) > 1) problems.push(`server cookie minted at second ${stamped}, outside [${lo - 1}, ${hi + 1}] of the clock around the run`);
    else if (stamped !== lo) answer = decideAt(stamped);
  } else if (world.settings.cookie && !agreesOnVerdict(answer, got.retval, got.moved)) {
    // A presented cookie at the edge of its validity may have been judged a second either side.
    for (const t of [hi, lo - 1, hi + 1]) {
      const alt = decideAt(t >>> 0);
      if (agreesOnVerdict(alt, got.retval, got.moved)) {
        answer = alt;
        break;
      }
    }
  }

  let decision: LimitedDecision;
  if (answer.verdict === 'tx' && answer.rrl && limiter?.on) {
    const v = limiter.decide(answer.rrl, limiter.second(before), limiter.second(after));
    problems.push(...v.problems);
    decision = applyRrl(answer, v.verdict);
  } else decision = applyRrl(answer, undefined);

  if (decision.verdict === 'pass' && decision.zoneChange) {
    const slot = world.zoneSlot(decision.zoneChange);
    world.zoneGens.set(slot, ((world.zoneGens.get(slot) ?? 0) + 1) >>> 0);
  }
  const want = expectedCounters(decision);
  if (!sameCounters(got.moved, want)) problems.push(`counters moved ${JSON.stringify(got.moved)}, model says ${JSON.stringify(want)}`);
  if (decision.verdict === 'tx' || decision.verdict === 'slip') {
    if (got.retval !== XDP_TX) problems.push(`retval ${got.retval}, model says XDP_TX (${decision.verdict})`);
    else {
      if (!got.out.equals(decision.reply)) problems.push(`${decision.verdict === 'slip' ? 'slipped ' : ''}reply differs from the model at byte ${firstDifference(got.out, decision.reply)}: got ${got.out.toString('hex')}, model ${decision.reply.toString('hex')}`);
      try {
        const { dns } = verifyReply(frame, got.out);
        dnsPacket.decode(dns);
      } catch (e) {
        problems.push(`reply check: ${(e as Error).message}`);
      }
    }
  } else if (decision.verdict === 'drop') {
    if (got.retval !== XDP_DROP) problems.push(`retval ${got.retval}, model says XDP_DROP`);
  } else {
    if (got.retval !== XDP_PASS) problems.push(`retval ${got.retval}, model says XDP_PASS (${decision.reason})`);
    if (!got.out.equals(frame)) problems.push(`passed frame was changed (first difference at byte ${firstDifference(got.out, frame)}): ${got.out.toString('hex')}`);
  }
  return { decision, problems, retval: got.retval, out: got.out };
}

/** Whether the run ended the way `d` says, looking only at the verdict and its counter. */
function agreesOnVerdict(d: Decision, retval: number, moved: Record<string, number>): boolean {
  if (d.verdict === 'pass') return retval === XDP_PASS && moved[d.reason] === 1;
  return retval !== XDP_PASS;
}

function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

export function outcomeName(d: LimitedDecision): string {
  switch (d.verdict) {
    case 'tx':
      return (d.wouldLimit ? 'TX_WOULD_LIMIT' : 'TX') + (d.cookie ? '_COOKIE' : '');
    case 'slip':
      return d.cookie ? 'RRL_SLIP_BADCOOKIE' : 'RRL_SLIP';
    case 'drop':
      return 'RRL_DROP';
    default:
      return d.zoneChange ? 'ZONE_CHANGE' : d.reason;
  }
}

/** TC_ACT_UNSPEC (-1) as the test run reports it. */
const TC_ACT_UNSPEC = 0xffffffff;

/**
 * The same frame through the loopback guard (santa_lo_guard), held to the model: it must come
 * back unchanged with TC_ACT_UNSPEC, and bump the zone the model names (the generation and
 * LOOPBACK_ZONE_CHANGES) or nothing at all. Its bumps are applied to `world` as the program's
 * are, so later cases' hits are judged against them. Undefined for a frame the test run cannot
 * make an skb of.
 */
export function runLoopbackGuardCase(santa: SantaUnderTest, world: CaseWorld, frame: Buffer): { bumped: boolean; problems: string[] } | undefined {
  if (skbTestRunRefuses(frame)) return undefined;
  const zone = loopbackZoneChangeOf(frame, world.settings.mode !== 'off', (port) => servesPort(world.settings, port));
  const got = santa.runLoopbackGuard(frame);
  const problems: string[] = [];
  if (got.retval !== TC_ACT_UNSPEC) problems.push(`loopback guard: retval ${got.retval}, model says TC_ACT_UNSPEC`);
  if (!got.out.equals(frame)) problems.push(`loopback guard changed the frame (first difference at byte ${firstDifference(got.out, frame)})`);
  const want: Record<string, number> = zone ? { LOOPBACK_ZONE_CHANGES: 1 } : {};
  if (!sameCounters(got.moved, want)) problems.push(`loopback guard: counters moved ${JSON.stringify(got.moved)}, model says ${JSON.stringify(want)}`);
  if (zone) {
    const slot = world.zoneSlot(zone);
    world.zoneGens.set(slot, ((world.zoneGens.get(slot) ?? 0) + 1) >>> 0);
  }
  return { bumped: zone !== undefined, problems };
}
