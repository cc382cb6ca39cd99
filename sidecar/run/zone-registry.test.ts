/**
 * The registry's view of the files behind each zone: an edit to a file a zone `$INCLUDE`s must
 * withdraw that zone as an edit to the zone file does (named loads included files too, and an
 * edit there need not move the serial).
 */
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as packet from 'dns-packet';
import { axfrMessage, soaRecord } from '../../test/support/axfr';
import { interpretNamedConf } from '../named-conf/read';
import { soaSerialOf, ZoneRegistry } from './zone-registry';

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

describe('ZoneRegistry, a zone named signs served from a transfer', () => {
  let dir: string;
  const www = (address: string): packet.Answer => ({ type: 'A', name: 'www.s.test', ttl: 300, class: 'IN', data: address });
  const base: packet.Answer[] = [{ type: 'NS', name: 's.test', ttl: 300, class: 'IN', data: 'ns1.s.test' }, { type: 'A', name: 'ns1.s.test', ttl: 300, class: 'IN', data: '192.0.2.53' }];
  const transfer = (serial: number, ...answers: packet.Answer[]) => [axfrMessage('s.test', [soaRecord('s.test', serial), ...base, ...answers, soaRecord('s.test', serial)])];
  const fileWith = (address: string) => writeFileSync(join(dir, 's.zone'), `$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.53\nwww A ${address}\n`);
  const registryFor = (zoneOptions: string, signedZones: 'transfer' | 'unsigned-file' = 'transfer') =>
    new ZoneRegistry(interpretNamedConf(`options { directory "${dir}"; recursion no; }; zone "s.test" { type primary; file "s.zone"; inline-signing yes;${zoneOptions} };`, join(dir, 'named.conf'), () => ''), { signedZones });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'santa-registry-'));
    fileWith('192.0.2.80');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('offloads from a transfer that is the signed form of the file, under named\'s serial, and answers from the signed copy', () => {
    const registry = registryFor('');
    expect(registry.get('s.test')).toMatchObject({ transfer: true, state: { signedByNamed: false } });
    expect(registry.reparse('s.test').state.status).toBe('withdrawn');
    expect(registry.get('s.test')?.model).toBeUndefined();
    registry.apply('s.test', { kind: 'bind-serial', serial: 7 });
    const taken = registry.applyTransfer('s.test', transfer(7, www('192.0.2.80')), 'AXFR');
    expect(taken).toMatchObject({ state: { status: 'offloaded', parsedSerial: 7 } });
    // Answers are built from the transferred copy (named's serial), not the file (serial 1).
    expect(soaSerialOf(registry.get('s.test')!.model!)).toBe(7);
    // The serial moves (a re-sign): withdraw and read again, as for any zone.
    expect(registry.apply('s.test', { kind: 'bind-serial', serial: 8 }).actions).toEqual({ withdraw: true, reparse: true });
  });

  it('refuses a transfer BIND made before it loaded the edited file, and takes the one after', () => {
    const registry = registryFor('');
    registry.reparse('s.test');
    registry.apply('s.test', { kind: 'bind-serial', serial: 7 });
    registry.applyTransfer('s.test', transfer(7, www('192.0.2.80')), 'AXFR');
    fileWith('192.0.2.81');
    expect(registry.apply('s.test', { kind: 'file-changed' }).actions.withdraw).toBe(true);
    // Read before BIND reloads: the old transfer no longer counts, even at the same serial.
    expect(registry.reparse('s.test').state).toMatchObject({ status: 'withdrawn', parsedSerial: null });
    expect(registry.apply('s.test', { kind: 'bind-serial', serial: 7 }).state.status).toBe('withdrawn');
    expect(registry.applyTransfer('s.test', transfer(7, www('192.0.2.80')), 'AXFR')).toEqual({ zone: 's.test', refused: 'BIND does not serve the zone file yet: www.s.test. A is served with other data or TTL' });
    expect(registry.get('s.test')?.state.status).toBe('withdrawn');
    registry.apply('s.test', { kind: 'bind-serial', serial: 9 });
    expect(registry.applyTransfer('s.test', transfer(9, www('192.0.2.81')), 'AXFR')).toMatchObject({ state: { status: 'offloaded', parsedSerial: 9 } });
  });

  it('takes a dynamic zone as transferred (its journal may run ahead of its file), and refuses a broken transfer', () => {
    const registry = registryFor(' update-policy local;');
    registry.reparse('s.test');
    registry.apply('s.test', { kind: 'bind-serial', serial: 12 });
    expect(registry.applyTransfer('s.test', transfer(12, www('192.0.2.99')), 'AXFR')).toMatchObject({ state: { status: 'offloaded' } });
    expect(registry.applyTransfer('s.test', [axfrMessage('s.test', [], 5)], 'AXFR')).toEqual({ zone: 's.test', refused: 'zone transfer of s.test: message 1 has rcode REFUSED (allow-transfer must admit Santa)' });
  });

  it('reads the zone file as before with bind.signed_zones: unsigned-file', () => {
    const registry = registryFor('', 'unsigned-file');
    expect(registry.get('s.test')).toMatchObject({ transfer: false, state: { signedByNamed: true } });
    expect(registry.reparse('s.test').state.parsedSerial).toBe(1);
    expect(() => registry.applyTransfer('s.test', transfer(1), 'AXFR')).toThrow(/not served from a transfer/);
  });
});

describe('ZoneRegistry, secondary zones', () => {
  const conf = (dir: string) =>
    interpretNamedConf(
      `options { directory "${dir}"; recursion no; };
       zone "raw.test" { type secondary; primaries { 192.0.2.1; }; file "raw.db"; };
       zone "memory.test" { type secondary; primaries { 192.0.2.1; }; };
       zone "text.test" { type secondary; primaries { 192.0.2.1; }; file "text.db"; masterfile-format text; };`,
      join(dir, 'named.conf'),
      () => '',
    );

  it('leaves secondaries whose copy it cannot read to BIND by default, saying why', () => {
    const registry = new ZoneRegistry(conf('/nonexistent'));
    expect(registry.names()).toEqual(['text.test']);
    expect(registry.skipped).toEqual([
      { zone: 'raw.test', reason: 'secondary zone files are in raw format unless masterfile-format text' },
      { zone: 'memory.test', reason: 'no zone file (named keeps the secondary in memory)' },
    ]);
  });

  it('with bind.secondary_zones: transfer, serves every secondary from transfers and reads none of their files', () => {
    const registry = new ZoneRegistry(conf('/nonexistent'), { secondaryZones: 'transfer' });
    expect(registry.names().sort()).toEqual(['memory.test', 'raw.test', 'text.test']);
    expect(registry.zoneFiles()).toEqual([]);
    expect(registry.reparse('raw.test').state).toMatchObject({ status: 'withdrawn', parsedSerial: null, error: null });
    registry.apply('raw.test', { kind: 'bind-serial', serial: 3 });
    const records = [{ type: 'NS', name: 'raw.test', ttl: 300, class: 'IN', data: 'ns1.raw.test' }, { type: 'A', name: 'ns1.raw.test', ttl: 300, class: 'IN', data: '192.0.2.53' }] as packet.Answer[];
    const taken = registry.applyTransfer('raw.test', [axfrMessage('raw.test', [soaRecord('raw.test', 3), ...records, soaRecord('raw.test', 3)])], 'AXFR');
    expect(taken).toMatchObject({ state: { status: 'offloaded', parsedSerial: 3 } });
    // The primary moved on and BIND took its transfer: withdraw, and transfer again.
    expect(registry.apply('raw.test', { kind: 'bind-serial', serial: 4 }).actions).toEqual({ withdraw: true, reparse: true });
  });
});

describe('ZoneRegistry names', () => {
  it('leaves the names of a zone Santa does not answer for to BIND, not to the zone above it', () => {
    const conf = interpretNamedConf(
      `options { directory "/var/cache/bind"; recursion no; };
       zone "example.test" { type primary; file "example.zone"; };
       zone "fwd.example.test" { type forward; forwarders { 192.0.2.1; }; };
       zone "twice.example.test" { type primary; file "a.zone"; };
       view "v" { zone "twice.example.test" { type primary; file "b.zone"; }; };`,
      '/etc/bind/named.conf',
      () => '',
    );
    const registry = new ZoneRegistry(conf);
    expect(registry.zoneFor('www.example.test')?.config.name).toBe('example.test');
    // Before, the names of the forward zone fell to example.test, whose data BIND does not use for them.
    expect(registry.zoneFor('www.fwd.example.test')).toBeUndefined();
    expect(registry.zoneFor('fwd.example.test')).toBeUndefined();
    // A zone declared in two views is not answered, nor are its names from the zone above.
    expect(registry.zoneFor('www.twice.example.test')).toBeUndefined();
  });
});
