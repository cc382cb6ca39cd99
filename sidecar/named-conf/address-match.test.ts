import { addressBytes } from '../net/ip';
import { aclsOf, addressMatchList, formatPrefix, listMatches } from './address-match';
import { parseStatements, type Statement } from './syntax';

/** The flattened list of `list { ... }` in `text` (which may define ACLs). */
function flat(text: string) {
  const statements = parseStatements(text, 'named.conf');
  const list = statements.find((s) => s.name === 'list')!;
  return addressMatchList(list, aclsOf(statements), (problem) => new Error(problem));
}

/**
 * BIND's own evaluation (lib/dns/acl.c dns_acl_match), on the statement tree: the first element
 * that matches decides; a nested list or named ACL matches only when it matches positively
 * (a negative match inside counts as no match), and "!" turns a match into "no".
 */
function bindMatch(elements: readonly Statement[], acls: Map<string, Statement>, addr: Buffer): 1 | -1 | 0 {
  for (const e of elements) {
    let text = e.name;
    let negated = false;
    if (text === '!') [negated, text] = [true, e.args[0] ?? ''];
    else if (text.startsWith('!')) [negated, text] = [true, text.slice(1)];
    let matched: boolean;
    if (e.block) matched = bindMatch(e.block, acls, addr) > 0;
    else if (acls.has(text)) matched = bindMatch(acls.get(text)!.block ?? [], acls, addr) > 0;
    else if (text === 'any') matched = true;
    else if (text === 'none') matched = false;
    else {
      const [a, len] = text.split('/');
      const base = addressBytes(a.includes(':') ? 6 : 4, a);
      if (base.length !== addr.length) continue;
      const bits = len === undefined ? addr.length * 8 : Number(len);
      matched = [...addr].every((b, i) => {
        const m = (0xff << (8 - Math.max(0, Math.min(8, bits - 8 * i)))) & 0xff;
        return (b & m) === (base[i] & m);
      });
    }
    if (matched) return negated ? -1 : 1;
  }
  return 0;
}

describe('address match lists', () => {
  it('keeps literal prefixes in order, masked, with their negation; any and none as BIND reads them', () => {
    expect(flat('list { 192.0.2.77/24; !10.1.0.0/16; 10.0.0.0/8; 2001:db8::1; none; !none; };').map(formatPrefix)).toEqual([
      '192.0.2.0/24',
      '!10.1.0.0/16',
      '10.0.0.0/8',
      '2001:db8::1/128',
    ]);
    expect(flat('list { !any; };').map(formatPrefix)).toEqual(['!0.0.0.0/0', '!::/0']);
  });

  it('flattens named ACLs and nested lists, negating each prefix of a negated one', () => {
    const text = 'acl a { 10.0.0.0/8; { 192.0.2.0/24; }; };\nacl b { a; 2001:db8::/32; };\nlist { !b; 0.0.0.0/0; };';
    expect(flat(text).map(formatPrefix)).toEqual(['!10.0.0.0/8', '!192.0.2.0/24', '!2001:db8::/32', '0.0.0.0/0']);
  });

  it('means what BIND means for every address tried, in every form it accepts', () => {
    const cases = [
      'acl bogons { 0.0.0.0/8; 127.0.0.0/8; 192.0.2.0/24; };\nlist { bogons; !10.1.0.0/16; 10.0.0.0/8; };',
      'acl spare { !10.1.2.3; 10.1.0.0/16; };\nlist { 192.0.2.9; !192.0.2.0/24; spare; };',
      'list { !{ 10.0.0.0/8; 172.16.0.0/12; }; any; };',
      'acl six { 2001:db8::/32; !2001:db8:1::/48; };\nlist { !fd00::/8; six; };',
      'list { { 10.0.0.0/8; }; !{ 10.0.0.0/8; }; 0.0.0.0/0; };',
    ];
    const addresses = ['10.1.2.3', '10.1.9.9', '10.2.0.1', '172.16.5.5', '192.0.2.9', '192.0.2.10', '127.0.0.1', '0.1.2.3', '8.8.8.8', '2001:db8::1', '2001:db8:1::1', 'fd00::1', '::1'];
    for (const text of cases) {
      const statements = parseStatements(text, 'named.conf');
      const acls = aclsOf(statements);
      const list = statements.find((s) => s.name === 'list')!;
      const flattened = addressMatchList(list, acls, (p) => new Error(p));
      for (const a of addresses) {
        const addr = addressBytes(a.includes(':') ? 6 : 4, a);
        expect([text, a, listMatches(flattened, addr)]).toEqual([text, a, bindMatch(list.block!, acls, addr) > 0]);
      }
    }
  });

  it.each([
    ['list { key tsig; };', "'key tsig' depends on a TSIG key, not the address"],
    ['list { localhost; };', "'localhost' depends on the server's interfaces"],
    ['list { localnets; };', "'localnets' depends on the server's interfaces"],
    ['list { geoip country NL; };', "'geoip country NL' depends on GeoIP data"],
    ['list { friends; };', "'friends' is not an address, a prefix or a known ACL"],
    ['list { 10.0.0.0/33; };', "'10.0.0.0/33': prefix length must be 0..32"],
    ['acl a { b; };\nacl b { a; };\nlist { a; };', "ACL 'a' refers to itself (a -> b -> a)"],
    ['acl a { !10.1.0.0/16; 10.0.0.0/8; };\nlist { !a; };', "'!' before ACL 'a' that has negated elements"],
    ['acl a { !10.1.0.0/16; 10.0.0.0/8; };\nlist { a; 10.1.2.3; };', "ACL 'a' has negated elements and is not the last element"],
    ['list { { !10.1.0.0/16; }; 10.1.2.3; };', 'a nested list has negated elements and is not the last element'],
  ])('%s is refused: %s', (text, message) => {
    expect(() => flat(text)).toThrow(message);
  });
});
