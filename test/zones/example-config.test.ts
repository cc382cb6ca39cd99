/**
 * zones-example/ against BIND's own tools: named-checkconf -z must accept both configurations
 * (so the examples are real), the reader must explain which zones cannot be offloaded, and the
 * zone parser must read every example zone exactly as BIND's loader does: each zone is dumped by
 * named-checkzone -D and both texts must give the same names, types, TTLs and RDATA.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readNamedConf } from '../../sidecar/named-conf/read';
import { parseZoneFile } from '../../sidecar/zone/parse';
import { Zone } from '../../sidecar/zone/model';
import { typeName } from '../../sidecar/zone/types';
import { run } from '../support/process';
import { requireTools } from '../support/require-root';

const EXAMPLE = path.resolve(__dirname, '../../zones-example');

/** Every RR of a zone as sorted text lines: owner, TTL, type, RDATA hex. */
function flatten(zone: Zone): string[] {
  const lines: string[] = [];
  for (const nodes of [zone.nodes, zone.nsec3Nodes]) {
    for (const node of nodes.values()) {
      for (const set of node.rrsets.values()) for (const r of set.rdata) lines.push(`${node.name.toLowerCase()} ${set.ttl} ${typeName(set.type)} ${r.toString('hex')}`);
    }
  }
  return lines.sort();
}

describe('zones-example with BIND tools', () => {
  beforeAll(() => requireTools('zones-example checks', ['named-checkconf', 'named-checkzone']));

  it.each(['named.conf', 'named-views.conf'])('named-checkconf -z accepts %s', async (file) => {
    const r = await run(['named-checkconf', '-z', file], { cwd: EXAMPLE, allowFailure: true });
    expect(`${r.code} ${r.stderr}`).toBe('0 ');
    expect(r.stdout).toMatch(/zone example.test\/IN: loaded serial 2026112701/);
  });

  it('reports the zones behind views as not offloadable, saying why', () => {
    const conf = readNamedConf(path.join(EXAMPLE, 'named-views.conf'));
    expect(conf.files).toEqual([path.join(EXAMPLE, 'named-views.conf'), path.join(EXAMPLE, 'zones.conf')]);
    expect(conf.zones.map((z) => [z.view, z.name, z.offloadable, z.reason])).toEqual([
      ['lab', 'example.test', false, 'view match-clients is not "any": the answer depends on the client'],
      ['public', 'example.test', false, 'an earlier view may take some clients: the answer depends on the client'],
      ['public', 'other.test', false, 'an earlier view may take some clients: the answer depends on the client'],
      ['public', 'signed.test', false, 'an earlier view may take some clients: the answer depends on the client'],
      ['public', '2.0.192.in-addr.arpa', false, 'an earlier view may take some clients: the answer depends on the client'],
    ]);
    expect(conf.zones[0].file).toBe(path.join(EXAMPLE, 'lab/example.test.zone'));
  });

  it('parses every example zone as BIND loads it', async () => {
    const conf = readNamedConf(path.join(EXAMPLE, 'named.conf'));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'santa-checkzone-'));
    try {
      for (const z of conf.zones) {
        const dump = path.join(dir, `${z.name}.dump`);
        await run(['named-checkzone', '-q', '-D', '-o', dump, z.name, z.file as string], { cwd: conf.options.directory });
        const ours = parseZoneFile(z.file as string, z.name, { includeBase: conf.options.directory });
        const bindsView = parseZoneFile(dump, z.name);
        expect({ zone: z.name, records: flatten(ours) }).toEqual({ zone: z.name, records: flatten(bindsView) });
        expect(flatten(ours).length).toBeGreaterThan(5);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
