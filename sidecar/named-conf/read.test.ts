import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { formatPrefix } from './address-match';
import { blackholeList, interpretNamedConf, NamedConfError, readNamedConf } from './read';

function conf(text: string, includes: Record<string, string> = {}) {
  return interpretNamedConf(text, '/etc/bind/named.conf', (p) => {
    if (!(p in includes)) throw new Error('ENOENT');
    return includes[p];
  });
}

describe('named.conf reader', () => {
  it('reads options with all three comment styles and quoted strings', () => {
    const c = conf(`
      # hash comment
      options {
        directory "/var/cache/bind"; // slash comment
        /* block
           comment */
        listen-on port 5353 { 127.0.0.1; !10.1.2.3; };
        listen-on-v6 { ::1; };
        minimal-responses no;
        edns-udp-size 4096;
        max-udp-size 100;
        cookie-secret "0123456789abcdef";
        cookie-secret "fedcba9876543210";
        rate-limit { responses-per-second 10; window 5; };
        recursion no;
        some-future-option { whatever; } ;
      };
      zone "Example.TEST." { type master; file "db.example"; };
    `);
    expect(c.options).toEqual({
      directory: '/var/cache/bind',
      listenOn: [{ port: 5353, addresses: ['127.0.0.1', '!10.1.2.3'], statement: expect.objectContaining({ name: 'listen-on' }) }],
      listenOnV6: [{ addresses: ['::1'], statement: expect.objectContaining({ name: 'listen-on-v6' }) }],
      minimalResponses: 'no',
      ednsUdpSize: 4096,
      maxUdpSize: 512,
      cookieSecrets: ['0123456789abcdef', 'fedcba9876543210'],
      rateLimit: { 'responses-per-second': '10', window: '5' },
      rateLimitStatement: expect.objectContaining({ name: 'rate-limit', at: { file: '/etc/bind/named.conf', line: 14 } }),
      recursion: false,
    });
    expect(c.zones).toEqual([
      { name: 'example.test', class: 'IN', type: 'primary', file: '/var/cache/bind/db.example', offloadable: true, dynamic: false, statementText: expect.stringContaining('db.example'), at: { file: '/etc/bind/named.conf', line: 18 } },
    ]);
  });

  it('reads the cookie statements that decide what XDP may answer with cookies', () => {
    const conf = interpretNamedConf(
      'options { cookie-secret "0123456789abcdef0123456789abcdef"; cookie-algorithm siphash24; answer-cookie yes; require-server-cookie yes; };',
      '/etc/bind/named.conf',
      () => '',
    );
    expect(conf.options).toMatchObject({ cookieSecrets: ['0123456789abcdef0123456789abcdef'], cookieAlgorithm: 'siphash24', answerCookie: true, requireServerCookie: true });
    expect(interpretNamedConf('options { };', '/x', () => '').options.requireServerCookie).toBeUndefined();
    expect(() => interpretNamedConf('options {\n require-server-cookie maybe; };', '/etc/bind/named.conf', () => '')).toThrow(/named\.conf:2.*require-server-cookie: expected yes or no/);
  });

  it('names the line of a statement that lacks its value (found by fuzzing)', () => {
    const conf = (options: string) => () => interpretNamedConf(`options {\n${options}\n};`, '/etc/bind/named.conf', () => '');
    expect(conf('minimal-responses ;')).toThrow(/named\.conf:2: minimal-responses: expected yes, no, no-auth or no-auth-recursive, got ''/);
    expect(conf('cookie-secret;')).toThrow(/named\.conf:2: cookie-secret: expected a quoted hex secret/);
  });

  it('treats every whitespace character as a separator and limits nesting (found by fuzzing)', () => {
    expect(interpretNamedConf('options {\f recursion\u00a0no;\v};', '/etc/bind/named.conf', () => '').options.recursion).toBe(false);
    const deep = 'options ' + '{ '.repeat(100) + '}; '.repeat(100);
    expect(() => interpretNamedConf(deep, '/etc/bind/named.conf', () => '')).toThrow(/named\.conf:1: blocks nested more than 64 deep/);
  });

  it('uses BIND 9.18 defaults and refuses everything while recursion is on', () => {
    const c = conf('zone "a.test" { type primary; file "/z/a"; };');
    expect(c.options.minimalResponses).toBe('no-auth-recursive');
    expect(c.options.ednsUdpSize).toBe(1232);
    expect(c.options.maxUdpSize).toBe(1232);
    expect(c.options.recursion).toBe(true);
    expect(c.zones[0].offloadable).toBe(false);
    expect(c.zones[0].reason).toMatch(/recursion/);
  });

  it('follows nested relative and absolute includes and lists every file', () => {
    const c = conf('include "local.conf";', {
      '/etc/bind/local.conf': 'options { recursion no; directory "/srv"; }; include "/opt/zones.conf";',
      '/opt/zones.conf': 'zone "b.test" IN { type slave; masterfile-format text; file "b"; primaries { 192.0.2.1; }; };',
    });
    expect(c.files).toEqual(['/etc/bind/named.conf', '/etc/bind/local.conf', '/opt/zones.conf']);
    expect(c.zones[0]).toMatchObject({ name: 'b.test', type: 'secondary', file: '/srv/b', offloadable: true });
  });

  it('explains why zones are not offloadable', () => {
    const c = conf(`
      options { recursion no; };
      view "inside" { match-clients { 10.0.0.0/8; }; zone "v.test" { type primary; file "v"; }; };
      view "outside" { match-clients { any; }; zone "w.test" { type primary; file "w"; }; };
      zone "s.test" { type secondary; file "s"; };
      zone "f.test" { type forward; forwarders { 192.0.2.1; }; };
      zone "q.test" { type primary; file "q"; allow-query { 10.0.0.0/8; }; };
      zone "d.test" { type primary; file "d"; dnssec-policy default; };
    `);
    const reasons = Object.fromEntries(c.zones.map((z) => [z.name, z.offloadable ? 'ok' : z.reason]));
    expect(reasons['v.test']).toMatch(/match-clients/);
    expect(reasons['w.test']).toMatch(/earlier view/);
    // Offloadable, but only from a transfer (bind.secondary_zones: transfer): see ZoneRegistry.
    expect(reasons['s.test']).toBe('ok');
    expect(c.zones.find((z) => z.name === 's.test')?.fileUnreadable).toMatch(/raw format/);
    expect(reasons['f.test']).toMatch(/type forward/);
    expect(reasons['q.test']).toMatch(/allow-query/);
    expect(reasons['d.test']).toMatch(/named signs this zone in place \(dnssec-policy default without inline-signing\)/);
    expect(c.zones.find((z) => z.name === 'v.test')?.view).toBe('inside');
  });

  it('refuses zones whose allow-query-on is not any, set on the zone, its view or options', () => {
    const c = conf(`
      options { recursion no; };
      zone "z.test" { type primary; file "z"; allow-query-on { 10.53.0.2; }; };
      zone "any.test" { type primary; file "a"; allow-query-on { any; }; };
      view "v" { allow-query-on { 10.53.0.3; }; zone "v.test" { type primary; file "v"; }; };
    `);
    const reasons = Object.fromEntries(c.zones.map((z) => [z.name, z.offloadable ? 'ok' : z.reason]));
    expect(reasons).toEqual({
      'z.test': 'allow-query-on is not "any": the answer depends on the address the query was sent to',
      'any.test': 'ok',
      'v.test': 'allow-query-on is not "any": the answer depends on the address the query was sent to',
    });
    const inherited = conf('options { recursion no; allow-query-on { 10.53.0.2; }; }; zone "o.test" { type primary; file "o"; };');
    expect(inherited.zones[0].reason).toMatch(/allow-query-on/);
  });

  it('refuses every zone of a scope whose answers named may shape per client: dns64, query plugins, server max-udp-size', () => {
    const reasons = (text: string) => Object.fromEntries(conf(text).zones.map((z) => [z.name, z.offloadable ? 'ok' : z.reason]));
    expect(reasons('options { recursion no; dns64 64:ff9b::/96 { }; }; zone "a.test" { type primary; file "a"; };')).toEqual({
      'a.test': 'dns64 synthesizes AAAA answers per client',
    });
    expect(reasons('options { recursion no; }; plugin query "filter-aaaa.so" { filter-aaaa-on-v4 yes; }; zone "a.test" { type primary; file "a"; };')).toEqual({
      'a.test': 'plugin query filter-aaaa.so may change answers per client',
    });
    expect(reasons('options { recursion no; }; server 192.0.2.0/24 { max-udp-size 512; }; zone "a.test" { type primary; file "a"; };')).toEqual({
      'a.test': 'server 192.0.2.0/24 sets max-udp-size: the largest answer depends on the client',
    });
    // Only the view that has it; a server statement without max-udp-size changes no answer.
    expect(
      reasons(`options { recursion no; }; server 192.0.2.1 { edns no; };
        view "plain" { match-clients { any; }; zone "p.test" { type primary; file "p"; }; };`),
    ).toEqual({ 'p.test': 'ok' });
    expect(reasons('options { recursion no; }; view "v" { dns64 64:ff9b::/96 { }; zone "v.test" { type primary; file "v"; }; };')).toEqual({
      'v.test': 'dns64 synthesizes AAAA answers per client',
    });
  });

  it("answers a view's zones with what the view sets over options: sizes, minimal-responses, rate-limit, recursion", () => {
    const c = conf(`
      options { recursion no; max-udp-size 1232; minimal-responses no; };
      view "all" {
        match-clients { any; };
        max-udp-size 512; edns-udp-size 1024; nocookie-udp-size 1000; minimal-responses yes;
        rate-limit { responses-per-second 5; };
        zone "v.test" { type primary; file "v"; };
      };
    `);
    expect(c.options).toMatchObject({ maxUdpSize: 512, ednsUdpSize: 1024, nocookieUdpSize: 512, minimalResponses: 'yes', rateLimit: { 'responses-per-second': '5' } });
    expect(c.zones[0].offloadable).toBe(true);
    const recursive = conf('options { recursion no; }; view "all" { recursion yes; zone "v.test" { type primary; file "v"; }; };');
    expect(recursive.zones[0].reason).toMatch(/recursion is enabled/);
  });

  it('reads nocookie-udp-size as named applies it: raised to 128, cut to max-udp-size', () => {
    const size = (opts: string) => conf(`options { recursion no; ${opts} };`).options.nocookieUdpSize;
    expect(size('')).toBeUndefined();
    expect(size('nocookie-udp-size 512;')).toBe(512);
    expect(size('nocookie-udp-size 64;')).toBe(128);
    expect(size('nocookie-udp-size 4096;')).toBe(1232);
    expect(size('max-udp-size 4096; nocookie-udp-size 4096;')).toBe(4096);
    expect(() => size('nocookie-udp-size big;')).toThrow(/nocookie-udp-size: expected a number from 0 to 65535, got 'big'/);
  });

  it('reads the blackhole list through named ACLs, and names the statement when it cannot be matched as BIND does', () => {
    const c = conf('acl bogons { 0.0.0.0/8; 192.0.2.0/24; };\noptions { recursion no;\n blackhole { bogons; 2001:db8::/32; }; };');
    expect(blackholeList(c).map(formatPrefix)).toEqual(['0.0.0.0/8', '192.0.2.0/24', '2001:db8::/32']);
    expect(blackholeList(conf('options { recursion no; };'))).toEqual([]);
    expect(() => blackholeList(conf('options {\n recursion no;\n blackhole { localnets; };\n};'))).toThrow(
      /named\.conf:3: blackhole: 'localnets' depends on the server's interfaces/,
    );
  });

  it('marks zones named signs with inline-signing, and refuses those it signs in place, inheriting dnssec-policy from view and options', () => {
    const c = conf(`
      options { recursion no; dnssec-policy default; };
      zone "inline.test" { type primary; file "i"; inline-signing yes; };
      zone "own.test" { type primary; file "o"; dnssec-policy custom; inline-signing yes; };
      zone "dynamic.test" { type primary; file "d"; update-policy local; };
      zone "updated.test" { type primary; file "u"; inline-signing yes; update-policy local; };
      zone "plain.test" { type primary; file "p"; dnssec-policy none; };
      view "all" { dnssec-policy none; zone "v.test" { type primary; file "v"; }; };
    `);
    const byName = Object.fromEntries(c.zones.map((z) => [z.name, z]));
    expect(byName['inline.test']).toMatchObject({ offloadable: true, signedByNamed: true, dynamic: false });
    expect(byName['own.test']).toMatchObject({ offloadable: true, signedByNamed: true, dynamic: false });
    expect(byName['updated.test']).toMatchObject({ offloadable: true, signedByNamed: true, dynamic: true });
    expect(byName['dynamic.test']).toMatchObject({ offloadable: false, reason: expect.stringMatching(/in place \(dnssec-policy default without inline-signing\)/) });
    expect(byName['plain.test'].offloadable).toBe(true);
    expect(byName['plain.test'].signedByNamed).toBeUndefined();
    expect(byName['v.test'].offloadable).toBe(true);
  });

  it('tells zones whose data can change before their file does (updates, transfers), allow-update inherited', () => {
    const c = conf(`
      options { recursion no; allow-update { 127.0.0.1; }; };
      zone "inherits.test" { type primary; file "i"; };
      zone "none.test" { type primary; file "n"; allow-update { none; }; };
      zone "policy.test" { type primary; file "p"; allow-update { none; }; update-policy local; };
      zone "copy.test" { type secondary; file "c"; masterfile-format text; primaries { 192.0.2.1; }; };
      view "v" { allow-update { none; }; zone "inview.test" { type primary; file "v"; }; };
    `);
    expect(Object.fromEntries(c.zones.map((z) => [z.name, z.dynamic]))).toEqual({ 'inherits.test': true, 'none.test': false, 'policy.test': true, 'copy.test': true, 'inview.test': false });
  });

  it.each([
    ['options { directory "x" }', /:1: missing ';' after 'directory'/],
    ['options { recursion no; ', /:1: missing '}' before end of file/],
    ['}', /:1: unexpected '}'/],
    ['\n\n/* never closed', /:3: unterminated \/\* comment/],
    ['zone "a" { file "x; };', /:1: unterminated quoted string/],
    ['zone "a" { file "x"; };', /:1: zone 'a' has no type/],
    ['options {\n minimal-responses maybe; };', /:2: minimal-responses: expected yes, no, no-auth or no-auth-recursive, got 'maybe'/],
    ['options {\n listen-on port http { any; }; };', /:2: port: expected a number/],
    ['include "missing.conf";', /named.conf:1: cannot read include \/etc\/bind\/missing.conf/],
  ])('rejects %j with file:line', (text, message) => {
    expect(() => conf(text)).toThrow(NamedConfError);
    expect(() => conf(text)).toThrow(message);
  });

  it('tells where zones can come and go without named.conf changing: allow-new-zones (its directory) and catalog-zones, per view', () => {
    expect(conf('options { directory "/var/cache/bind"; };').zoneSetSources).toEqual([]);
    expect(conf('options { directory "/var/cache/bind"; allow-new-zones yes; };').zoneSetSources).toEqual([
      { kind: 'allow-new-zones', directory: '/var/cache/bind', at: { file: '/etc/bind/named.conf', line: 1 } },
    ]);
    const c = conf(`options { directory "/var/cache/bind"; allow-new-zones yes; new-zones-directory "nz"; };
      view "inside" { match-clients { 10/8; }; };
      view "outside" { allow-new-zones no; catalog-zones { zone "Cat.test." default-primaries { 192.0.2.1; }; zone "cat2.test"; }; };
      view "third" { new-zones-directory "/srv/nz"; };`);
    expect(c.zoneSetSources).toEqual([
      { kind: 'allow-new-zones', view: 'inside', directory: '/var/cache/bind/nz', at: { file: '/etc/bind/named.conf', line: 1 } },
      { kind: 'catalog-zones', view: 'outside', catalogs: ['cat.test', 'cat2.test'], at: { file: '/etc/bind/named.conf', line: 3 } },
      { kind: 'allow-new-zones', view: 'third', directory: '/srv/nz', at: { file: '/etc/bind/named.conf', line: 1 } },
    ]);
  });

  it('detects include loops', () => {
    expect(() => conf('include "a.conf";', { '/etc/bind/a.conf': 'include "a.conf";' })).toThrow(/include loop/);
  });

  it('reads real files from disk', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'santa-conf-'));
    try {
      fs.writeFileSync(path.join(dir, 'named.conf'), 'options { directory "."; recursion no; };\ninclude "zones.conf";\n');
      fs.writeFileSync(path.join(dir, 'zones.conf'), 'zone "x.test" { type primary; file "x.db"; };\n');
      const c = readNamedConf(path.join(dir, 'named.conf'));
      expect(c.zones[0].file).toBe(path.join(dir, 'x.db'));
      expect(c.zones[0].at).toEqual({ file: path.join(dir, 'zones.conf'), line: 1 });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
