/**
 * dig from the client namespace for one A record, read the way the end-to-end suites compare
 * it: the status, the first address, and whether dig timed out or retried over TCP.
 */
import type { Topology } from './netns';
import { waitFor } from './process';

export interface DigA {
  status?: string;
  answer?: string;
  timedOut: boolean;
  retriedOverTcp: boolean;
  out: string;
}

/** `source`: dig -b (an address, or address#port). */
export async function digA(topo: Topology, name: string, opts: { source?: string; args?: string[] } = {}): Promise<DigA> {
  const argv = ['dig', ...(opts.source ? ['-b', opts.source] : []), `@${topo.server.v4}`, name, 'A', ...(opts.args ?? [])];
  const r = await topo.exec(topo.client, argv, { allowFailure: true, timeoutMs: 20_000 });
  const out = r.stdout + r.stderr;
  const owner = name.replace(/\.$/, '').replace(/\./g, '\\.');
  return {
    status: /status: ([A-Z]+)/.exec(out)?.[1],
    answer: new RegExp(`${owner}\\.\\s+\\d+\\s+IN\\s+A\\s+(\\S+)`).exec(out)?.[1],
    timedOut: /timed out|no servers could be reached/.test(out),
    retriedOverTcp: out.includes('Truncated, retrying in TCP mode'),
    out,
  };
}

/** Asks until the program's hit counter moves (the question is cached and answered from XDP),
 * every answer NOERROR with `address`. */
export async function askUntilXdpHit(ask: () => Promise<DigA>, address: string, hits: () => number, describe: () => string): Promise<void> {
  await waitFor(
    `an answer of ${address} from XDP`,
    async () => {
      const before = hits();
      const r = await ask();
      expect({ status: r.status, answer: r.answer }).toEqual({ status: 'NOERROR', answer: address });
      return hits() > before || undefined;
    },
    { timeoutMs: 40_000, intervalMs: 400, describe },
  );
}
