/**
 * How the end-to-end suites ask a server that `santa run` serves: from the client namespace
 * over the veth the program is attached to (XDP may answer), or BIND itself over loopback in
 * the server namespace (no program there), with the program's counters read through the pins.
 * The suites set their topology and pin directory in beforeAll, so both are read late.
 */
import { query, type QuestionSpec } from './dns-client';
import type { FreshnessProbe } from './freshness';
import type { Topology } from './netns';
import { waitFor } from './process';
import { pinnedStats } from './santa-maps';
import { verifyResponse } from '../../sidecar/response/verify';

type A = { type: 'A'; name: string; data: string };

export function servedBy(s: { topo: () => Topology; pinDir: () => string; output: () => string }) {
  const stats = () => pinnedStats(s.pinDir());
  const fromClient = (q: QuestionSpec, transport: 'udp' | 'tcp' = 'udp') => query(q, { server: s.topo().server.v4, netns: s.topo().client.ns, transport, timeoutMs: 1500 });
  const fromBind = (q: QuestionSpec) => query(q, { server: '127.0.0.1', netns: s.topo().server.ns, timeoutMs: 1500 });
  /** The first A record's address in the client's answer. */
  const address = async (q: QuestionSpec, transport: 'udp' | 'tcp' = 'udp') => (await fromClient(q, transport)).packet.answers?.find((x): x is A => x.type === 'A')?.data;
  /** The first A record's address (else the rcode) the client gets from `server` (the server's
   * first address by default), and whether XDP sent it (the hit counter moved). */
  const answerOf = async (q: QuestionSpec, o: { server?: string; timeoutMs?: number; retries?: number } = {}) => {
    const before = stats().HITS;
    const a = await query(q, { server: o.server ?? s.topo().server.v4, netns: s.topo().client.ns, timeoutMs: o.timeoutMs ?? 1500, retries: o.retries });
    const rr = a.packet.answers?.find((x): x is A => x.type === 'A');
    return { answer: rr ? rr.data : a.rcode, fromXdp: stats().HITS > before };
  };
  return {
    stats,
    fromClient,
    fromBind,
    address,
    answerOf,
    /** Asks until the answer comes from XDP (a hit), then checks it is BIND's own answer. */
    async servedFromXdp(q: QuestionSpec, what: string) {
      const answer = await waitFor(what, async () => {
        const hits = stats().HITS;
        const a = await fromClient(q);
        return stats().HITS > hits ? a : undefined;
      }, { timeoutMs: 30_000, intervalMs: 300, describe: s.output });
      expect(verifyResponse(answer.raw, (await fromBind(q)).raw).mismatches).toEqual([]);
      return answer;
    },
    /** The no-stale-answer probe for `q`'s address after a change to `fresh`. */
    probe(q: QuestionSpec, fresh: string): FreshnessProbe {
      return { udp: () => address(q, 'udp'), tcp: () => address(q, 'tcp'), hits: () => stats().HITS, fresh, timeoutMs: 40_000, describe: s.output };
    },
  };
}
