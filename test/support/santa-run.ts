/**
 * `santa run` as the end-to-end suites start it: a config file for a BIND in the server
 * namespace (native loader, generic XDP on the server veth, query log as the source) and the
 * sidecar spawned in that namespace from this checkout's sources.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BindServer } from './bind';
import type { Topology } from './netns';
import { rmSync } from 'node:fs';
import { collectOutput, type Background } from './process';

const ROOT = resolve(__dirname, '../..');

export interface SantaRunConfig {
  topo: Topology;
  bind: BindServer;
  pinDir: string;
  leaseSeconds: number;
  /** Have santa run reload BIND through rndc after a zone edit (bind.reload_command). */
  reloadBind?: boolean;
  /** metrics.listen, e.g. "127.0.0.1:9153"; no metrics server when absent. */
  metricsListen?: string;
  /** bind.signed_zones (default: Santa's, unsigned-file). */
  signedZones?: 'unsigned-file' | 'transfer';
  /** bind.secondary_zones (default: Santa's, file). */
  secondaryZones?: 'file' | 'transfer';
  /** bind.serial_poll_seconds (default: Santa's, 1). */
  serialPollSeconds?: number;
  /** bind.notify_listen, e.g. "127.0.0.1:5301" (named needs also-notify for it). */
  notifyListen?: string;
  /** bind.change_hold_seconds (default: Santa's, 5). */
  changeHoldSeconds?: number;
  /** bind.recheck_seconds (default: Santa's, 60). */
  recheckSeconds?: number;
}

/** Writes <dir>/santa.yaml for `o` and returns its path. */
export function writeSantaRunConfig(dir: string, o: SantaRunConfig): string {
  const reload = o.reloadBind ? `, reload_command: "rndc -c ${join(o.bind.workDir, 'rndc.conf')} reload {zone}"` : '';
  const path = join(dir, 'santa.yaml');
  writeFileSync(
    path,
    [
      `named_conf: ${o.bind.confPath}`,
      `interfaces: [{ name: ${o.topo.server.ifname}, xdp_mode: generic }]`,
      `loader: native`,
      `pin_dir: ${o.pinDir}`,
      `queries: { source: querylog, path: ${o.bind.queryLogPath} }`,
      `cache: { max_entries: 1000, lease_seconds: ${o.leaseSeconds} }`,
      `ranking: { interval_seconds: 1 }`,
      `bind: { address: "127.0.0.1:53"${reload}${o.signedZones ? `, signed_zones: ${o.signedZones}` : ''}${o.secondaryZones ? `, secondary_zones: ${o.secondaryZones}` : ''}${o.serialPollSeconds ? `, serial_poll_seconds: ${o.serialPollSeconds}` : ''}${o.notifyListen ? `, notify_listen: "${o.notifyListen}"` : ''}${o.changeHoldSeconds ? `, change_hold_seconds: ${o.changeHoldSeconds}` : ''}${o.recheckSeconds ? `, recheck_seconds: ${o.recheckSeconds}` : ''} }`,
      ...(o.metricsListen ? [`metrics: { listen: "${o.metricsListen}" }`] : []),
      `log: { level: debug }`,
      '',
    ].join('\n'),
  );
  return path;
}

/** `santa <args>` from this checkout, run in the server namespace. */
export function santaCommand(...args: string[]): string[] {
  return ['node', '--require', 'tsx/cjs', join(ROOT, 'sidecar/cli/main.ts'), ...args];
}

/** Starts `santa run --config <configPath>` in the server namespace. Its output() is the whole
 * log, not a tail: suites count its lines over their whole run. */
export function spawnSantaRun(topo: Topology, configPath: string): Background {
  const bg = topo.spawn(topo.server, santaCommand('run', '--config', configPath));
  return { ...bg, output: collectOutput(bg) };
}

/** Stops what an end-to-end suite started (each part only if it got that far) and removes its
 * pins and work directory, even when a stop fails. */
export async function tearDownSantaRun(o: { santa?: Background; bind?: BindServer; topo?: Topology; pinDir?: string; work?: string }): Promise<void> {
  try {
    await o.santa?.stop(2000);
    await o.bind?.stop();
    await o.topo?.destroy();
  } finally {
    if (o.pinDir) rmSync(o.pinDir, { recursive: true, force: true });
    if (o.work) rmSync(o.work, { recursive: true, force: true });
  }
}
