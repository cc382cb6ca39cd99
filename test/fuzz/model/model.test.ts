/**
 * The reference model checked against the sentences, without BPF: if the model drifts
 * from the specification, the differential fuzzer would only compare two wrong things.
 */
import { buildFrame, ETH_P_8021AD, ETH_P_8021Q, FrameSpec, parseFrame, verifyReply } from '../../support/packets';
import { encodeQuery, plainOpt, QuerySpec } from '../xdp/dns';
import { serverCookie } from '../../../sidecar/cookies';
import { decide, indexEntries, lowerAscii, ModelEntry, ModelSettings, ModelWorld } from '.';

const NAME = Buffer.from('\x03www\x07example\x04test\x00', 'latin1');
const V4: FrameSpec = { src: '203.0.113.7', dst: '198.51.100.53', sport: 40000 };
const V6: FrameSpec = { src: '2001:db8::7', dst: '2001:db8::53', sport: 40000 };
const SETTINGS: ModelSettings = { mode: 'on', maxUdpSize: 0, ports: [], v4Addrs: [], v6Addrs: [] };

/** A response with `answers` A records and an OPT when `edns`. */
function response(rd: boolean, edns: boolean, txtBytes = 0): Buffer {
  const head = Buffer.from([0, 0, 0x84 | (rd ? 1 : 0), 0x10, 0, 1, 0, 1, 0, 0, 0, edns ? 1 : 0]);
  const answer = txtBytes
    ? Buffer.concat([Buffer.from([0xc0, 12, 0, 16, 0, 1, 0, 0, 1, 0x2c, (txtBytes + 1) >> 8, (txtBytes + 1) & 0xff, Math.min(255, txtBytes)]), Buffer.alloc(txtBytes, 0x61)])
    : Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 0x2c, 0, 4, 192, 0, 2, 80]);
  const opt = edns ? Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]) : Buffer.alloc(0);
  return Buffer.concat([head, NAME, Buffer.from([0, 1, 0, 1]), answer, opt]);
}

function world(entries: ModelEntry[], settings: Partial<ModelSettings> = {}): ModelWorld {
  return { settings: { ...SETTINGS, ...settings }, entries: indexEntries(entries), nowJiffies: 1_000n, nowSeconds: 1_700_000_000, maxFrame: 3000 };
}

function entry(bits: Partial<ModelEntry['bits']>, extra: Partial<ModelEntry> = {}): ModelEntry {
  const b = { rd: false, edns: false, dnssecOk: false, v6: false, ...bits };
  return { name: lowerAscii(NAME), qtype: 1, qclass: 1, bits: b, response: response(b.rd, b.edns), expiresJiffies: 10_000n, slot: 1, ...extra };
}

function query(q: Partial<QuerySpec> = {}): Buffer {
  return encodeQuery({ id: 0xbeef, flags: 0, counts: [1, 0, 0, q.opt ? 1 : 0], name: NAME, qtype: 1, qclass: 1, trailing: Buffer.alloc(0), ...q });
}

function reason(w: ModelWorld, frame: Buffer): string {
  const d = decide(w, frame);
  return d.verdict === 'tx' ? 'TX' : d.reason;
}

test('a hit keeps the question as asked (0x20), copies ID, RD and CD, swaps everything and checksums', () => {
  const asked = Buffer.from('\x03wWw\x07ExAmPlE\x04TEST\x00', 'latin1');
  for (const spec of [V4, V6, { ...V4, vlans: [{ tpid: ETH_P_8021AD, vid: 1 }, { tpid: ETH_P_8021Q, vid: 2 }], ipv4Options: Buffer.alloc(8, 1) }]) {
    const v6 = spec === V6;
    const frame = buildFrame(spec, query({ name: asked, flags: 0x0110 }));
    const d = decide(world([entry({ rd: true, v6 })]), frame);
    if (d.verdict !== 'tx') throw new Error(`expected a reply, got ${d.reason}`);
    const { dns } = verifyReply(frame, d.reply);
    expect(dns.readUInt16BE(0)).toBe(0xbeef);
    expect(dns.readUInt16BE(2)).toBe(0x8510); // QR AA from the entry, RD and CD from the query
    expect(dns.subarray(12, 12 + asked.length)).toEqual(asked);
    expect(parseFrame(d.reply).vlans).toEqual(parseFrame(frame).vlans);
  }
});

test('the key holds RD, EDNS, DO and the address family; the name matches case-insensitively only for A-Z', () => {
  const w = world([entry({ rd: false, edns: true, dnssecOk: true })]);
  expect(reason(w, buildFrame(V4, query({ opt: plainOpt(1232, true) })))).toBe('TX');
  expect(reason(w, buildFrame(V4, query({ opt: plainOpt(1232, false) })))).toBe('PASS_MISS');
  expect(reason(w, buildFrame(V4, query({ opt: plainOpt(1232, true), flags: 0x0100 })))).toBe('PASS_MISS');
  expect(reason(w, buildFrame(V4, query()))).toBe('PASS_MISS');
  expect(reason(w, buildFrame(V6, query({ opt: plainOpt(1232, true) })))).toBe('PASS_MISS');
  const at = Buffer.from(NAME);
  at[1] = 0x57 ^ 0x20 ^ 0x20; // 'W': same key
  expect(reason(w, buildFrame(V4, query({ name: at, opt: plainOpt(1232, true) })))).toBe('TX');
  at[1] = 0x77 ^ 0x20 ^ 0x40; // 0x17: not a letter, a different name
  expect(reason(w, buildFrame(V4, query({ name: at, opt: plainOpt(1232, true) })))).toBe('PASS_MISS');
});

test('only a plain query is accepted; each refusal has its reason', () => {
  const w = world([entry({}), entry({ edns: true })]);
  const f = (q: Partial<QuerySpec>, spec: FrameSpec = V4) => reason(w, buildFrame(spec, query(q)));
  expect(f({ flags: 0x8000 })).toBe('PASS_UNSUPPORTED'); // QR
  expect(f({ flags: 0x2800 })).toBe('PASS_UNSUPPORTED'); // opcode 5
  expect(f({ flags: 0x0200 })).toBe('PASS_UNSUPPORTED'); // TC
  expect(f({ counts: [2, 0, 0, 0] })).toBe('PASS_UNSUPPORTED');
  expect(f({ counts: [1, 0, 0, 2] })).toBe('PASS_UNSUPPORTED');
  expect(f({ name: Buffer.from([0xc0, 0x0c]) })).toBe('PASS_UNSUPPORTED'); // label loop
  expect(f({ name: Buffer.from([0x40, 0]) })).toBe('PASS_MALFORMED');
  expect(f({ trailing: Buffer.from([0]) })).toBe('PASS_MALFORMED');
  expect(f({ opt: { ...plainOpt(1232, false), version: 1 } })).toBe('PASS_EDNS_VERSION');
  expect(f({ opt: { ...plainOpt(1232, false), rdata: Buffer.from('000c0000', 'hex') } })).toBe('PASS_EDNS_OPTIONS');
  expect(f({ opt: { ...plainOpt(1232, false), owner: Buffer.from([1, 0x61, 0]) } })).toBe('PASS_UNSUPPORTED');
  expect(f({}, { ...V4, ipv4FragField: 0x2000 })).toBe('PASS_FRAGMENT');
  expect(f({}, { ...V6, ipv6NextHeader: 44 })).toBe('PASS_FRAGMENT');
  expect(f({}, { ...V6, ipv6NextHeader: 0 })).toBe('PASS_UNSUPPORTED');
  expect(f({}, { ...V4, dport: 5353 })).toBe('PASS_NOT_DNS');
  expect(f({}, { ...V4, src: '127.0.0.1' })).toBe('PASS_UNSUPPORTED');
  expect(f({}, { ...V4, dst: '224.0.0.251' })).toBe('PASS_NOT_DNS');
  expect(f({}, { ...V4, sport: 0 })).toBe('PASS_UNSUPPORTED');
});

test('mode, lease and the client size limit', () => {
  const frame = buildFrame(V4, query());
  expect(decide(world([entry({})], { mode: 'off' }), frame)).toEqual({ verdict: 'pass', reason: 'PASS_DISABLED', dnsQuery: false });
  expect(decide(world([entry({})], { mode: 'dry-run' }), frame)).toEqual({ verdict: 'pass', reason: 'DRY_RUN_HITS', dnsQuery: true });
  expect(reason(world([entry({}, { expiresJiffies: 1_000n })]), frame)).toBe('PASS_EXPIRED');
  // 600 bytes of TXT: too big without EDNS (512) and for a 512-byte EDNS size, fine for 1232,
  // and capped by max-udp-size whatever the client advertises.
  const big = (edns: boolean) => entry({ edns }, { response: response(false, edns, 600) });
  expect(reason(world([big(false)]), frame)).toBe('PASS_TOO_BIG');
  expect(reason(world([big(true)]), buildFrame(V4, query({ opt: plainOpt(100, false) })))).toBe('PASS_TOO_BIG');
  expect(reason(world([big(true)]), buildFrame(V4, query({ opt: plainOpt(1232, false) })))).toBe('TX');
  expect(reason(world([big(true)], { maxUdpSize: 600 }), buildFrame(V4, query({ opt: plainOpt(4096, false) })))).toBe('PASS_TOO_BIG');
});

// ---- DNS cookies and the rate limiter's slip (issue 8) -----------------------------------

const SECRET = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
const NOW = 1_700_000_000;
const CLIENT = Buffer.from('c1c2c3c4c5c6c7c8', 'hex');
const COOKIES: Partial<ModelSettings> = { cookie: { secret: SECRET, clockOffsetNs: 1n } };

function cookieOpt(rdata: Buffer) {
  return { ...plainOpt(1232, false), rdata };
}

function withCookie(server?: Buffer): Buffer {
  const data = Buffer.concat([CLIENT, server ?? Buffer.alloc(0)]);
  return Buffer.concat([Buffer.from([0, 10, 0, data.length]), data]);
}

test('cookies: which COOKIE options can hit, and why the others pass', () => {
  const w = (s: Partial<ModelSettings> = COOKIES) => ({ ...world([entry({ edns: true }), entry({ edns: true, v6: true })], s), nowSeconds: NOW });
  const f = (rdata: Buffer, s?: Partial<ModelSettings>, spec: FrameSpec = V4) => reason(w(s), buildFrame(spec, query({ opt: cookieOpt(rdata) })));
  const fresh = (age: number, address = V4.src) => serverCookie(SECRET, CLIENT, address, NOW - age);
  expect(f(withCookie(), {})).toBe('PASS_EDNS_OPTIONS'); // cookies off: BIND answers them
  expect(f(withCookie())).toBe('TX');
  expect(f(withCookie(), { cookie: { ...COOKIES.cookie!, requireServerCookie: true } })).toBe('PASS_BAD_COOKIE');
  for (const age of [0, 3600, -300]) expect(f(withCookie(fresh(age)))).toBe('TX');
  for (const age of [3601, -301]) expect(f(withCookie(fresh(age)))).toBe('PASS_BAD_COOKIE');
  expect(f(withCookie(fresh(0, '203.0.113.8')))).toBe('PASS_BAD_COOKIE'); // minted for another client
  expect(f(withCookie(fresh(0, V6.src)), undefined, V6)).toBe('TX');
  const flipped = fresh(0);
  flipped[15] ^= 1;
  expect(f(withCookie(flipped))).toBe('PASS_BAD_COOKIE');
  expect(f(withCookie(fresh(0).subarray(0, 8)))).toBe('PASS_BAD_COOKIE'); // an 8-byte server cookie: not BIND's
  expect(f(Buffer.concat([withCookie(), Buffer.from('000c0000', 'hex')]))).toBe('PASS_EDNS_OPTIONS');
  expect(f(Buffer.from('000a00090102030405060708', 'hex'))).toBe('PASS_EDNS_OPTIONS'); // option overruns RDATA
  // RDATA too short for an option header: malformed, whatever follows the message in the frame.
  expect(f(Buffer.from([0, 10]))).toBe('PASS_MALFORMED');
  expect(f(Buffer.from([0, 10]), undefined, { ...V4, padTo: 120 })).toBe('PASS_MALFORMED');
});

test('cookies: the reply ends with the client cookie and a server cookie minted now', () => {
  const w = { ...world([entry({ edns: true })], COOKIES), nowSeconds: NOW };
  const frame = buildFrame(V4, query({ opt: cookieOpt(withCookie()) }));
  const d = decide(w, frame);
  if (d.verdict !== 'tx') throw new Error(`expected a reply, got ${d.reason}`);
  const { dns } = verifyReply(frame, d.reply);
  const option = Buffer.concat([Buffer.from([0, 28, 0, 10, 0, 24]), CLIENT, serverCookie(SECRET, CLIENT, V4.src, NOW)]);
  expect(dns.subarray(dns.length - option.length)).toEqual(option);
  expect(d.cookie).toBe('client-only');
  expect(d.rrl).toBeDefined();
  // A valid server cookie is exempt from rate limiting, as in BIND.
  const exempt = decide(w, buildFrame(V4, query({ opt: cookieOpt(withCookie(serverCookie(SECRET, CLIENT, V4.src, NOW - 5))) })));
  expect(exempt.verdict === 'tx' && exempt.rrl).toBe(undefined);
});

test('a slipped reply: question and OPT only, TC and AA, or BADCOOKIE to a cookie client', () => {
  const w = { ...world([entry({ edns: true }), entry({ edns: true, rd: true })], COOKIES), nowSeconds: NOW };
  const slipOf = (frame: Buffer) => {
    const d = decide(w, frame);
    if (d.verdict !== 'tx' || !d.rrl) throw new Error('expected a rate-limited answer');
    return verifyReply(frame, d.rrl.slipReply()).dns;
  };
  const plain = slipOf(buildFrame(V4, query({ opt: plainOpt(1232, false), flags: 0x0100 })));
  expect(plain.readUInt16BE(2)).toBe(0x8700); // QR AA TC RD, NOERROR
  expect([4, 6, 8, 10].map((o) => plain.readUInt16BE(o))).toEqual([1, 0, 0, 1]);
  expect(plain.length).toBe(12 + NAME.length + 4 + 11);
  const cookie = slipOf(buildFrame(V4, query({ opt: cookieOpt(withCookie()) })));
  expect(cookie.readUInt16BE(2) & 0x860f).toBe(0x8007); // QR, no AA or TC, rcode 7 (BADCOOKIE's low bits)
  const opt = cookie.subarray(12 + NAME.length + 4);
  expect(opt[5]).toBe(1); // BADCOOKIE's high bits
  expect(opt.subarray(11)).toEqual(Buffer.concat([Buffer.from([0, 10, 0, 24]), CLIENT, serverCookie(SECRET, CLIENT, V4.src, NOW)]));
});
