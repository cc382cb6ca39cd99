import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readNamedConf } from '../named-conf/read';
import { loadConfiguredZones } from './load';

describe('loadConfiguredZones', () => {
  it('loads good zones, reports a broken one with file:line, and skips what it may not answer', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'santa-load-'));
    try {
      fs.writeFileSync(
        path.join(dir, 'named.conf'),
        'options { directory "."; recursion no; };\n' +
          'zone "good.test" { type primary; file "good.zone"; };\n' +
          'zone "bad.test" { type primary; file "bad.zone"; };\n' +
          'zone "gone.test" { type primary; file "missing.zone"; };\n' +
          'zone "fwd.test" { type forward; forwarders { 192.0.2.1; }; };\n',
      );
      const head = '$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n';
      fs.writeFileSync(path.join(dir, 'good.zone'), `${head}www A 192.0.2.2\n`);
      fs.writeFileSync(path.join(dir, 'bad.zone'), `${head}www A 192.0.2.300\n`);
      const loaded = loadConfiguredZones(readNamedConf(path.join(dir, 'named.conf')));
      expect([...loaded.zones.keys()]).toEqual(['good.test']);
      expect(loaded.zones.get('good.test')?.zone.recordCount).toBe(4);
      expect(loaded.failures.map((f) => [f.zone.name, f.file && path.basename(f.file), f.line, f.message.replace(dir, 'DIR')])).toEqual([
        ['bad.test', 'bad.zone', 5, "DIR/bad.zone:5: A record for www.bad.test.: bad IPv4 address '192.0.2.300'"],
        ['gone.test', 'missing.zone', 0, expect.stringMatching(/^DIR\/missing.zone:0: cannot read zone file: ENOENT/)],
      ]);
      expect(loaded.skipped.map((z) => [z.name, z.reason])).toEqual([['fwd.test', 'type forward zones are not served from a zone file']]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
