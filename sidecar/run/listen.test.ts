import { interpretNamedConf } from '../named-conf/read';
import { followListen, listenSettings, newlyListed, NO_DESTINATION, sameListen } from './listen';

const HOST = ['127.0.0.1', '10.53.0.2', '192.0.2.1', '::1', 'fd53::2', 'fe80::1%santa-s'];

function settings(text: string, host = HOST, max = 8) {
  return listenSettings(interpretNamedConf(text, '/etc/bind/named.conf', () => ''), host, max);
}

describe('what the program answers for: where named listens', () => {
  it('answers any destination on port 53 without listen-on statements (named listens on every address)', () => {
    expect(settings('options { recursion no; };')).toEqual({ ports: [53], v4: [], v6: [], warnings: [] });
    expect(settings('options { listen-on { any; }; listen-on-v6 { any; }; };')).toEqual({ ports: [53], v4: [], v6: [], warnings: [] });
  });

  it('takes lists of plain addresses as written, with their ports', () => {
    expect(settings('options { listen-on port 5353 { 10.53.0.2; 10.53.0.9; }; listen-on-v6 port 5353 { fd53::2; }; };')).toEqual({
      ports: [5353],
      v4: ['10.53.0.2', '10.53.0.9'],
      v6: ['fd53::2'],
      warnings: [],
    });
    // No listen-on-v6: named's default, any IPv6 address on port 53. The program's ports apply
    // to all its addresses, so it answers one of the two (any IPv6 address on 53) and leaves
    // 10.53.0.2 port 5353 to BIND.
    expect(settings('options { listen-on port 5353 { 10.53.0.2; }; };')).toEqual({
      ports: [53],
      v4: [NO_DESTINATION.v4],
      v6: [],
      warnings: ['named listens at address and port pairs the program cannot answer for alone (its ports apply to all its addresses): queries to IPv4 port 5353 beyond those it answers are left to BIND'],
    });
  });

  it("matches other lists against the host's addresses, as named does when it scans its interfaces", () => {
    expect(settings('options { listen-on { 10.53.0.0/24; }; listen-on-v6 { fd53::/64; }; };')).toMatchObject({ v4: ['10.53.0.2'], v6: ['fd53::2'] });
    expect(settings('options { listen-on { !10.53.0.2; any; }; };').v4).toEqual(['127.0.0.1', '192.0.2.1']);
    expect(settings('options { listen-on { localhost; }; listen-on-v6 { localnets; }; };')).toMatchObject({ v4: ['127.0.0.1', '10.53.0.2', '192.0.2.1'], v6: ['::1', 'fd53::2'] });
    expect(settings('acl dns { 192.0.2.0/24; };\noptions { listen-on port 5353 { dns; }; listen-on-v6 port 5353 { none; }; };')).toMatchObject({ ports: [5353], v4: ['192.0.2.1'], v6: [NO_DESTINATION.v6] });
  });

  it('answers only address and port pairs named listens on: every port of the program at every one of its addresses', () => {
    const r = settings('options { listen-on port 53 { 10.53.0.2; }; listen-on port 5353 { 127.0.0.1; }; listen-on-v6 { none; }; };');
    expect(r).toMatchObject({ ports: [53], v4: ['10.53.0.2'], v6: [NO_DESTINATION.v6] });
    expect(r.warnings.join(' ')).toMatch(/IPv4 port 5353 beyond those it answers are left to BIND/);
    // Port 5353 has every address port 53 has, and one more: both ports, port 53's addresses.
    const both = settings('options { listen-on port 53 { 10.53.0.2; 127.0.0.1; }; listen-on port 5353 { 10.53.0.2; 127.0.0.1; 192.0.2.1; }; listen-on-v6 { none; }; };');
    expect(both).toMatchObject({ ports: [53, 5353], v4: ['10.53.0.2', '127.0.0.1'] });
    expect(both.warnings.join(' ')).toMatch(/IPv4 port 5353/);
    // The same addresses at two ports, IPv6 on both: nothing left out.
    expect(settings('options { listen-on port 53 { 10.53.0.2; }; listen-on port 5353 { 10.53.0.2; }; listen-on-v6 port 53 { any; }; listen-on-v6 port 5353 { any; }; };')).toEqual({ ports: [53, 5353], v4: ['10.53.0.2'], v6: [], warnings: [] });
  });

  it('never answers a pair named does not listen on, over many random listen-on sets (a property test)', () => {
    const v4s = ['10.53.0.2', '127.0.0.1', '192.0.2.1'];
    const v6s = ['::1', 'fd53::2'];
    const ports = [53, 5353, 853];
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const pick = (xs: string[]) => xs.filter(() => rnd(2) === 0);
    for (let round = 0; round < 500; round++) {
      const statements: string[] = [];
      const named = new Set<string>(); // "family address port" named listens on
      for (const [family, name, addrs] of [[4, 'listen-on', v4s], [6, 'listen-on-v6', v6s]] as const) {
        const n = rnd(3);
        if (n === 0) for (const a of addrs) named.add(`${family} ${a} 53`); // the default: any, port 53
        for (let i = 0; i < n; i++) {
          const port = ports[rnd(3)];
          const kind = rnd(4);
          const list = kind === 0 ? ['any'] : kind === 1 ? ['none'] : pick([...addrs]);
          const listed = kind === 0 ? [...addrs] : kind === 1 ? [] : list;
          for (const a of listed) named.add(`${family} ${a} ${port}`);
          statements.push(`${name} port ${port} { ${list.length ? list.join('; ') + ';' : 'none;'} };`);
        }
      }
      const r = settings(`options { ${statements.join(' ')} };`);
      const answered = (listed: string[], all: string[]) => (listed.length === 0 ? all : listed.filter((a) => all.includes(a)));
      for (const port of r.ports) {
        for (const a of answered(r.v4, v4s)) expect([statements.join(' '), `4 ${a} ${port}`, named.has(`4 ${a} ${port}`)]).toEqual([statements.join(' '), `4 ${a} ${port}`, true]);
        for (const a of answered(r.v6, v6s)) expect([statements.join(' '), `6 ${a} ${port}`, named.has(`6 ${a} ${port}`)]).toEqual([statements.join(' '), `6 ${a} ${port}`, true]);
      }
    }
  });

  it('answers no destination of a family named listens on none of', () => {
    expect(settings('options { listen-on { 198.51.100.0/24; }; listen-on-v6 { none; }; };')).toMatchObject({ v4: [NO_DESTINATION.v4], v6: [NO_DESTINATION.v6] });
  });

  it('answers any destination, and says so, when named listens on more addresses than the program can list', () => {
    const r = settings('options { listen-on { any; !192.0.2.1; }; listen-on-v6 { !::1; any; }; };', HOST, 1);
    expect(r.v4).toEqual([]);
    expect(r.warnings).toEqual(['named listens on 3 IPv4 addresses, more than the program can list (1): it answers queries to any IPv4 destination']);
    expect(r.v6).toEqual(['fd53::2']);
  });

  it('names the statement when a list cannot be matched by address alone', () => {
    expect(() => settings('options {\n listen-on { key k; };\n};')).toThrow(/named\.conf:2: listen-on: 'key k' depends on a TSIG key/);
  });
});

describe('following the host when its addresses change', () => {
  const conf = interpretNamedConf('options { listen-on { 10.53.0.0/24; }; listen-on-v6 { fd53::/64; }; };', '/etc/bind/named.conf', () => '');
  const at = (host: string[]) => listenSettings(conf, host, 8);

  it('drops an address the host lost at once, and adds a new one only once named answers there', () => {
    const before = at(['10.53.0.2', '10.53.0.3', 'fd53::2']);
    const after = at(['10.53.0.2', '10.53.0.4', 'fd53::2', 'fd53::4']);
    expect(newlyListed(before, after)).toEqual(['10.53.0.4', 'fd53::4']);
    expect(followListen(before, after, () => false)).toMatchObject({ v4: ['10.53.0.2'], v6: ['fd53::2'] });
    expect(followListen(before, after, (a) => a === 'fd53::4')).toMatchObject({ v4: ['10.53.0.2'], v6: ['fd53::2', 'fd53::4'] });
    expect(sameListen(followListen(before, after, () => true), after)).toBe(true);
  });

  it('answers no destination of a family once its last address is gone, and leaves that once named answers at a new one', () => {
    const before = at(['10.53.0.2', 'fd53::2']);
    const gone = followListen(before, at(['fd53::2']), () => true);
    expect(gone.v4).toEqual([NO_DESTINATION.v4]);
    expect(newlyListed(gone, at(['10.53.0.7', 'fd53::2']))).toEqual(['10.53.0.7']);
    expect(followListen(gone, at(['10.53.0.7', 'fd53::2']), () => false).v4).toEqual([NO_DESTINATION.v4]);
    expect(followListen(gone, at(['10.53.0.7', 'fd53::2']), () => true).v4).toEqual(['10.53.0.7']);
  });

  it('takes a change to or from any destination as it is', () => {
    const any = listenSettings(conf, ['10.53.0.2'], 0);
    expect(any.v4).toEqual([]);
    expect(followListen(any, at(['10.53.0.2']), () => false).v4).toEqual(['10.53.0.2']);
    expect(followListen(at(['10.53.0.2']), any, () => false).v4).toEqual([]);
    expect(newlyListed(any, at(['10.53.0.2']))).toEqual([]);
  });
});
