/**
 * `santa verify` as an operator runs it: the CLI reads the zones named.conf declares (here
 * zones-example/, served by a real BIND), builds every answer and compares each with BIND's.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { readNamedConf } from '../../sidecar/named-conf/read';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startBind, type BindServer } from '../support/bind';
import { run } from '../support/process';
import { requireTools } from '../support/require-root';

const ROOT = resolve(__dirname, '../..');

describe('santa verify', () => {
  let bind: BindServer;
  let work: string;

  beforeAll(async () => {
    requireTools('santa verify', ['named']);
    work = mkdtempSync(join(tmpdir(), 'santa-verify-'));
    cpSync(join(ROOT, 'zones-example'), work, { recursive: true });
    // BIND serves the example zones from this copy, with the example's answer-shaping options;
    // santa verify reads the named.conf BIND really runs with.
    const example = readNamedConf(join(work, 'named.conf'), { directory: work });
    const o = example.options;
    bind = await startBind({
      zones: [
        ...example.zones.map((z) => ({ name: z.name, file: z.file as string })),
        // A secondary whose copy (raw format; its primary, on a loopback port nothing answers,
        // never sends one) Santa cannot read: verify leaves it out rather than report an error.
        { name: 'copy.test', type: 'secondary', file: 'copy.test.db', options: 'primaries { 127.0.0.1 port 9; };' },
      ],
      directory: work,
      addresses: ['127.0.0.1'],
      extraOptions: `minimal-responses ${o.minimalResponses}; edns-udp-size ${o.ednsUdpSize}; max-udp-size ${o.maxUdpSize};`,
    });
  }, 60_000);

  afterAll(async () => {
    await bind?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('finds every built answer equal to BIND\'s', async () => {
    const r = await run(['node', '--require', 'tsx/cjs', join(ROOT, 'sidecar/cli/main.ts'), 'verify', '--named-conf', bind.confPath, '--bind', `127.0.0.1#${bind.port}`, '--json'], { allowFailure: true });
    if (!r.stdout.trim()) throw new Error(`santa verify printed nothing (exit ${r.code}): ${r.stderr}`);
    const report = JSON.parse(r.stdout) as { zones: number; questions: number; equal: number; mismatched: number; errors: number; problems: string[] };
    expect(report.problems).toEqual([]);
    expect(report.zones).toBe(4);
    expect(report.mismatched + report.errors).toBe(0);
    expect(report.equal).toBeGreaterThan(400);
    expect(r.code).toBe(0);
  }, 120_000);
});
