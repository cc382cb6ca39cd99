/**
 * The registry's view of the files behind each zone: an edit to a file a zone `$INCLUDE`s must
 * withdraw that zone as an edit to the zone file does (named loads included files too, and an
 * edit there need not move the serial).
 */
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { interpretNamedConf } from '../named-conf/read';
import { ZoneRegistry } from './zone-registry';

function zoneText(zone: string, include?: string): string {
  return [`$TTL 300`, `@ SOA ns1.${zone}. hostmaster.${zone}. 1 3600 600 86400 300`, `@ NS ns1.${zone}.`, `ns1 A 192.0.2.53`, ...(include ? [`$INCLUDE "${include}"`] : []), ''].join('\n');
}

describe('ZoneRegistry files', () => {
  let dir: string;
  let registry: ZoneRegistry;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'santa-registry-'));
    writeFileSync(join(dir, 'a.zone'), zoneText('a.test', 'hosts.inc'));
    writeFileSync(join(dir, 'b.zone'), zoneText('b.test', 'hosts.inc'));
    writeFileSync(join(dir, 'c.zone'), zoneText('c.test'));
    writeFileSync(join(dir, 'hosts.inc'), 'www A 192.0.2.80\n');
    const conf = interpretNamedConf(
      `options { directory "${dir}"; recursion no; };
       zone "a.test" { type primary; file "a.zone"; };
       zone "b.test" { type primary; file "b.zone"; };
       zone "c.test" { type primary; file "c.zone"; };`,
      join(dir, 'named.conf'),
      () => '',
    );
    registry = new ZoneRegistry(conf);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('lists each zone file before the first parse, and the included files after it', () => {
    expect(registry.zoneFiles().sort()).toEqual([join(dir, 'a.zone'), join(dir, 'b.zone'), join(dir, 'c.zone')]);
    for (const zone of registry.names()) registry.reparse(zone);
    expect(registry.zoneFiles().sort()).toEqual([join(dir, 'a.zone'), join(dir, 'b.zone'), join(dir, 'c.zone'), join(dir, 'hosts.inc')]);
    expect(registry.zonesReading(join(dir, 'hosts.inc')).sort()).toEqual(['a.test', 'b.test']);
    expect(registry.zonesReading(join(dir, 'c.zone'))).toEqual(['c.test']);
    expect(registry.zonesReading(join(dir, 'elsewhere.inc'))).toEqual([]);
  });

  it('sees an edit to an included file as a change of every zone that reads it', () => {
    for (const zone of registry.names()) registry.reparse(zone);
    expect(registry.names().filter((z) => registry.changedOnDisk(z))).toEqual([]);
    writeFileSync(join(dir, 'hosts.inc'), 'www A 192.0.2.81\n');
    // Same size: the mtime tells (set apart explicitly, as a fast test may write within one tick).
    utimesSync(join(dir, 'hosts.inc'), new Date(), new Date(Date.now() + 5000));
    expect(registry.names().filter((z) => registry.changedOnDisk(z)).sort()).toEqual(['a.test', 'b.test']);
    registry.reparse('a.test');
    expect(registry.changedOnDisk('a.test')).toBe(false);
    expect(registry.get('a.test')?.model?.node('www.a.test.')?.rrsets.size).toBe(1);
  });

  it('follows an include added by an edit, and keeps watching the files of a zone that stopped parsing', () => {
    registry.reparse('c.test');
    writeFileSync(join(dir, 'more.inc'), 'mail A 192.0.2.25\n');
    writeFileSync(join(dir, 'c.zone'), zoneText('c.test', 'more.inc'));
    registry.reparse('c.test');
    expect(registry.zonesReading(join(dir, 'more.inc'))).toEqual(['c.test']);
    writeFileSync(join(dir, 'more.inc'), 'mail A not-an-address\n');
    expect(registry.reparse('c.test').state.status).toBe('error');
    expect(registry.zonesReading(join(dir, 'more.inc'))).toEqual(['c.test']);
    writeFileSync(join(dir, 'more.inc'), 'mail A 192.0.2.26\n');
    utimesSync(join(dir, 'more.inc'), new Date(), new Date(Date.now() + 10_000));
    expect(registry.changedOnDisk('c.test')).toBe(true);
  });
});
