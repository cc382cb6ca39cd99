/**
 * `santa verify` as an operator runs it: the CLI reads the zones named.conf declares (here
 * zones-example/, served by a real BIND), builds every answer and compares each with BIND's.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { readNamedConf } from '../../sidecar/named-conf/read';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startBind, type BindServer } from '../support/bind';
import { query } from '../support/dns-client';
import { run, waitFor } from '../support/process';
import { requireTools } from '../support/require-root';

const ROOT = resolve(__dirname, '../..');

const POLICY_ZONE = ['$TTL 300', '@ SOA ns1 hostmaster 1 3600 600 86400 60', '@ NS ns1', 'ns1 A 192.0.2.1', 'www A 192.0.2.80', 'mail MX 10 www', ''].join('\n');

interface Report {
  zones: number;
  questions: number;
  notCacheable: number;
  equal: number;
  mismatched: number;
  errors: number;
  problems: string[];
}

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
        // A zone named signs itself.
        { name: 'policy.test', text: POLICY_ZONE, options: 'dnssec-policy default; inline-signing yes;' },
      ],
      directory: work,
      addresses: ['127.0.0.1'],
      extraOptions: `minimal-responses ${o.minimalResponses}; edns-udp-size ${o.ednsUdpSize}; max-udp-size ${o.maxUdpSize};`,
    });
    // named signs policy.test in steps at first, moving its serial: let it settle.
    let last = -1;
    await waitFor('named to finish signing policy.test', async () => {
      const soa = await query({ name: 'policy.test', type: 'SOA' }, { server: '127.0.0.1', port: bind.port, transport: 'tcp' });
      const serial = (soa.packet.answers?.find((x) => x.type === 'SOA')?.data as { serial: number } | undefined)?.serial ?? -1;
      const settled = serial === last && serial > 1;
      last = serial;
      return settled || undefined;
    }, { timeoutMs: 60_000, intervalMs: 1500 });
  }, 120_000);

  afterAll(async () => {
    await bind?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const verify = async (...extra: string[]): Promise<{ report: Report; code: number }> => {
    const r = await run(['node', '--require', 'tsx/cjs', join(ROOT, 'sidecar/cli/main.ts'), 'verify', '--named-conf', bind.confPath, '--bind', `127.0.0.1#${bind.port}`, '--json', ...extra], { allowFailure: true });
    if (!r.stdout.trim()) throw new Error(`santa verify printed nothing (exit ${r.code}): ${r.stderr}`);
    return { report: JSON.parse(r.stdout) as Report, code: r.code };
  };

  it('finds every built answer equal to BIND\'s', async () => {
    const { report, code } = await verify();
    expect(report.problems).toEqual([]);
    // The four example zones and policy.test (from its unsigned file: DO=0 answers without the SOA).
    expect(report.zones).toBe(5);
    expect(report.mismatched + report.errors).toBe(0);
    expect(report.equal).toBeGreaterThan(400);
    expect(code).toBe(0);
  }, 120_000);

  it('with --signed-zones transfer, checks the signed copy named serves, DO=1 answers included', async () => {
    const plain = await verify();
    const { report, code } = await verify('--signed-zones', 'transfer');
    expect(report.problems).toEqual([]);
    expect(report.zones).toBe(5);
    expect(report.mismatched + report.errors).toBe(0);
    // From the transfer: DO=1 and negative answers of policy.test are built and compared too.
    expect(report.equal).toBeGreaterThan(plain.report.equal + 10);
    expect(code).toBe(0);
  }, 120_000);
});
