/**
 * The cost of an idle Santa: `santa run` (the real sidecar, native loader) beside a BIND with
 * its query log on in a namespace pair of its own, given time to start, install its entries and
 * settle, then watched for `seconds` with no queries arriving: CPU seconds per second of
 * wall-clock time (utime + stime of the node process, all threads) and resident memory.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { createTopology } from '../../support/netns';
import { startBind } from '../../support/bind';
import { query } from '../../support/dns-client';
import { sleep, waitFor } from '../../support/process';
import { REPO } from '../../bpf/setup';
import { procTicks, rssBytes } from './cpu';
import { benchZone, hitName, ZONE } from './testbed';

export interface IdleSidecar {
  /** CPU used while idle, as a fraction of one CPU. */
  cpuFraction: number;
  rssBytes: number;
  seconds: number;
  entriesAsked: number;
}

export async function measureIdleSidecar(seconds: number, register: (close: () => Promise<void>) => void): Promise<IdleSidecar> {
  const topo = await createTopology();
  const work = mkdtempSync(join(tmpdir(), 'santa-bench-idle-'));
  const pinDir = `/sys/fs/bpf/santa-bench-${process.pid}`;
  const cleanups: Array<() => Promise<void> | void> = [() => topo.destroy(), () => rmSync(work, { recursive: true, force: true }), () => rmSync(pinDir, { recursive: true, force: true })];
  const close = async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  };
  register(close);
  try {
    const bind = await startBind({
      netns: topo.server.ns,
      addresses: [topo.server.v4, '127.0.0.1'],
      zones: [{ name: ZONE, text: benchZone({ hitNames: 32, missNames: 0, serverCpu: 0, clientCpu: 0 }) }],
      queryLog: true,
    });
    cleanups.splice(1, 0, () => bind.stop());
    writeFileSync(
      join(work, 'santa.yaml'),
      [
        `named_conf: ${bind.confPath}`,
        `interfaces: [{ name: ${topo.server.ifname}, xdp_mode: generic }]`,
        'loader: native',
        `pin_dir: ${pinDir}`,
        `queries: { source: querylog, path: ${bind.queryLogPath} }`,
        'cache: { max_entries: 1000, lease_seconds: 60 }',
        'ranking: { interval_seconds: 1 }',
        `bind: { address: "127.0.0.1:53", reload_command: "rndc -c ${join(bind.workDir, 'rndc.conf')} reload {zone}" }`,
        'log: { level: warn }',
        '',
      ].join('\n'),
    );
    const santa = topo.spawn(topo.server, ['node', '--require', 'tsx/cjs', join(REPO, 'sidecar/cli/main.ts'), 'run', '--config', join(work, 'santa.yaml')]);
    cleanups.push(() => santa.stop(3000));
    // Some traffic so the sidecar has a hot set to rank and install, then silence.
    const names = Array.from({ length: 32 }, (_, i) => hitName(i));
    for (let round = 0; round < 3; round++) {
      for (const name of names) await query({ name, type: 'A' }, { server: topo.server.v4, netns: topo.client.ns, timeoutMs: 1000 }).catch(() => undefined);
    }
    await waitFor('santa run to be up', () => (santa.hasExited() ? Promise.reject(new Error(santa.output())) : procTicks(santa.pid) > 0 || undefined), {
      timeoutMs: 20_000,
      describe: () => santa.output(),
    });
    await sleep(5_000); // start-up, first ranking ticks and installs are not steady state
    if (santa.hasExited()) throw new Error(`santa run exited:\n${santa.output()}`);
    const t0 = process.hrtime.bigint();
    const c0 = procTicks(santa.pid);
    await sleep(seconds * 1000);
    const c1 = procTicks(santa.pid);
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    if (santa.hasExited()) throw new Error(`santa run exited while measured:\n${santa.output()}`);
    return { cpuFraction: (c1 - c0) / 100 / wall, rssBytes: rssBytes(santa.pid), seconds: wall, entriesAsked: names.length };
  } finally {
    await close();
  }
}
