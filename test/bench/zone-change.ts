/**
 * Time from a zone file edit to the new answer being served from XDP, with `santa run` as
 * deployed: real BIND and the sidecar in the server namespace, a client asking in a loop.
 *
 *   npx tsx test/bench/zone-change.ts [--edits 5] [--interval 1]
 *
 * Each edit bumps the serial and changes www's address; Santa withdraws the zone, re-reads it,
 * has BIND reload it (bind.reload_command), verifies and installs. Reported per edit: when BIND
 * first served the new serial, and when an XDP hit first carried the new address (both from the
 * file write). Numbers only: nothing here fails for being slow. `--interval` is santa's ranking
 * interval in seconds, which bounds the install step.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startBind } from '../support/bind';
import { query } from '../support/dns-client';
import { createTopology } from '../support/netns';
import { sleep, waitFor } from '../support/process';
import { requireRoot } from '../support/require-root';
import { pinnedStats } from '../support/santa-maps';
import { median } from './paper/stats';

const ROOT = resolve(__dirname, '../..');
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
};
const edits = Number(arg('edits', '5'));
const intervalSeconds = Number(arg('interval', '1'));

const zone = (serial: number) =>
  [`$TTL 300`, `@ IN SOA ns1 hostmaster ${serial} 3600 600 86400 300`, `@ IN NS ns1`, `ns1 IN A 10.53.0.2`, `www IN A 192.0.2.${serial % 250}`, ''].join('\n');

async function main(): Promise<void> {
  requireRoot('zone-change benchmark');
  const topo = await createTopology();
  const work = mkdtempSync(join(tmpdir(), 'santa-zone-change-'));
  const pinDir = `/sys/fs/bpf/santa-zone-change-${process.pid}`;
  const bind = await startBind({ netns: topo.server.ns, addresses: [topo.server.v4, '127.0.0.1'], queryLog: true, zones: [{ name: 'bench.test', text: zone(1) }] });
  writeFileSync(
    join(work, 'santa.yaml'),
    [
      `named_conf: ${bind.confPath}`,
      `interfaces: [{ name: ${topo.server.ifname}, xdp_mode: generic }]`,
      `pin_dir: ${pinDir}`,
      `queries: { source: querylog, path: ${bind.queryLogPath} }`,
      `cache: { max_entries: 1000, lease_seconds: ${Math.max(3, intervalSeconds * 3)} }`,
      `ranking: { interval_seconds: ${intervalSeconds} }`,
      `bind: { address: "127.0.0.1:53", reload_command: "rndc -c ${join(bind.workDir, 'rndc.conf')} reload {zone}" }`,
      `metrics: { listen: "127.0.0.1:9153" }`,
      '',
    ].join('\n'),
  );
  const santa = topo.spawn(topo.server, ['node', '--require', 'tsx/cjs', join(ROOT, 'sidecar/cli/main.ts'), 'run', '--config', join(work, 'santa.yaml')]);
  const ask = async () => {
    const a = await query({ name: 'www.bench.test', type: 'A', rd: true, edns: true }, { server: topo.server.v4, netns: topo.client.ns, timeoutMs: 1500 });
    return a.packet.answers?.find((x): x is { type: 'A'; name: string; data: string } => x.type === 'A')?.data;
  };
  const rows: { edit: number; bindMs: number; xdpMs: number }[] = [];
  try {
    await waitFor('www.bench.test served from XDP', async () => {
      const before = pinnedStats(pinDir).HITS;
      await ask();
      return pinnedStats(pinDir).HITS > before || undefined;
    }, { timeoutMs: 60_000, intervalMs: 200, describe: () => santa.output() });
    for (let edit = 1; edit <= edits; edit++) {
      const serial = edit + 1;
      const address = `192.0.2.${serial % 250}`;
      const t0 = Date.now();
      writeFileSync(join(bind.workDir, 'zones/bench.test.zone'), zone(serial));
      let bindMs = NaN;
      let xdpMs = NaN;
      while (Number.isNaN(xdpMs) && Date.now() - t0 < 60_000) {
        if (Number.isNaN(bindMs)) {
          const soa = await query({ name: 'bench.test', type: 'SOA' }, { server: topo.server.v4, netns: topo.client.ns, transport: 'tcp' });
          if ((soa.packet.answers?.find((x) => x.type === 'SOA')?.data as { serial: number } | undefined)?.serial === serial) bindMs = Date.now() - t0;
        }
        const before = pinnedStats(pinDir).HITS;
        const got = await ask();
        if (got === address && pinnedStats(pinDir).HITS > before) xdpMs = Date.now() - t0;
      }
      rows.push({ edit, bindMs, xdpMs });
      await sleep(500);
    }
  } finally {
    await santa.stop(2000);
    await bind.stop();
    await topo.destroy();
    rmSync(pinDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
  console.log(`zone file edit -> new answer, santa run with ranking interval ${intervalSeconds} s (client probes ~every 0.3 s, so times are upper bounds)`);
  console.log('| edit | BIND serves new serial (ms) | XDP serves new answer (ms) |');
  console.log('|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.edit} | ${r.bindMs} | ${r.xdpMs} |`);
  console.log(`median: BIND ${median(rows.map((r) => r.bindMs))} ms, XDP ${median(rows.map((r) => r.xdpMs))} ms`);
}

main().catch((e: unknown) => {
  console.error((e as Error).stack ?? String(e));
  process.exit(1);
});
