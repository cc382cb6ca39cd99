/**
 * The set-up of the end-to-end suites that ask from two client networks: a topology whose client
 * also holds `secondClient` (a /24 of its own), BIND serving one.test (www A 192.0.2.1) with the
 * suite's own options, `santa run` on it, and www.one.test asked from the client's first address
 * until XDP answers it. Whatever was started is stopped again if a step fails.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBind, type BindServer } from './bind';
import { askUntilXdpHit, type DigA } from './dig';
import { addClientNetwork, createTopology, type Topology } from './netns';
import type { Background } from './process';
import { requireRoot, requireTools } from './require-root';
import { pinnedStats } from './santa-maps';
import { spawnSantaRun, tearDownSantaRun, writeSantaRunConfig } from './santa-run';
import { wwwZone } from './zones';

export interface TwoNetworkSanta {
  topo: Topology;
  bind: BindServer;
  santa: Background;
  work: string;
  pinDir: string;
}

export const WWW_ADDRESS = '192.0.2.1';

export async function startTwoNetworkSanta(
  what: string,
  o: { secondClient: string; extraOptions: string; extraConfig?: string; warmUp: (topo: Topology) => Promise<DigA> },
): Promise<TwoNetworkSanta> {
  requireRoot(what);
  requireTools(what, ['named', 'dig', 'nsenter', 'ip']);
  const tag = what.replace(/[^a-z0-9]+/gi, '-');
  const started: Partial<TwoNetworkSanta> = {};
  try {
    const topo = (started.topo = await createTopology());
    await addClientNetwork(topo, o.secondClient);
    const work = (started.work = mkdtempSync(join(tmpdir(), `${tag}-`)));
    const pinDir = (started.pinDir = `/sys/fs/bpf/${tag}-${process.pid}`);
    const bind = (started.bind = await startBind({
      netns: topo.server.ns,
      addresses: [topo.server.v4, '127.0.0.1'],
      queryLog: true,
      extraOptions: o.extraOptions,
      ...(o.extraConfig ? { extraConfig: o.extraConfig } : {}),
      zones: [{ name: 'one.test', text: wwwZone('one.test', 1, WWW_ADDRESS) }],
    }));
    const santa = (started.santa = spawnSantaRun(topo, writeSantaRunConfig(work, { topo, bind, pinDir, leaseSeconds: 60 })));
    await askUntilXdpHit(() => o.warmUp(topo), WWW_ADDRESS, () => pinnedStats(pinDir).HITS, () => santa.output());
    return { topo, bind, santa, work, pinDir };
  } catch (e) {
    await tearDownSantaRun(started);
    throw e;
  }
}
