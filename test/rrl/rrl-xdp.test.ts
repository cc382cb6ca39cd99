/**
 * Response rate limiting in the real santa_xdp program, through BPF_PROG_TEST_RUN (repeat = 1).
 *
 * Every verdict the program reaches (answer, drop, slip) is compared with the TypeScript
 * reference model (sidecar/rrl/model.ts) fed the program's own clock: after each run the
 * bucket the run debited holds the second it used. Time is controlled by moving every
 * bucket's timestamp into the past, in the map and in the model alike. Slipped replies are
 * checked byte for byte against the truncated response BIND sends, and their frames by
 * verifyReply (lengths, IPv4 header checksum, full UDP checksum).
 */
import * as dnsPacket from 'dns-packet';
import { requireRoot } from '../support/require-root';
import { rcodeName } from '../support/dns-client';
import { buildFrame, dnsQuery, FrameSpec, QuerySpec, verifyReply } from '../support/packets';
import { EntrySpec, SantaUnderTest, XDP_PASS, XDP_TX } from '../xdp/harness';
import { santaAbi } from '../../sidecar/bpf/abi';
import { cookieOption, serverCookie, wallClockOffsetNs } from '../../sidecar/cookies';
import { defaultRrlConfig, rrlConfigFromStatement, type RrlConfig } from '../../sidecar/rrl/config';
import { rrlIdentity, RrlKind } from '../../sidecar/rrl/identity';
import { RrlMaps } from '../../sidecar/rrl/maps';
import { RrlModel, type RrlVerdict } from '../../sidecar/rrl/model';
import { parseStatements } from '../../sidecar/named-conf/syntax';
import { kernelClock } from '../../sidecar/bpf/kernel-clock';

const XDP_DROP = 1;
const SERVER4 = '10.53.0.2';
const SERVER6 = 'fd53::2';
const SECRET = Buffer.from('0f1e2d3c4b5a69788796a5b4c3d2e1f0', 'hex');
const CLIENT_COOKIE = Buffer.from('c0ffee0123456789', 'hex');

// Names of even and odd wire length: the slipped OPT lands at both checksum parities.
const EVEN = 'www.example.test';
const ODD = 'ww.example.test';
const SOA: dnsPacket.Answer = {
  name: 'example.test',
  type: 'SOA',
  ttl: 300,
  data: { mname: 'ns1.example.test', rname: 'hostmaster.example.test', serial: 7, refresh: 3600, retry: 600, expire: 86400, minimum: 300 },
};

let santa: SantaUnderTest;
let rrl: RrlMaps;
let hz: number;
let model: RrlModel;
let cfg: RrlConfig;
const replies = new Map<string, Buffer>();
let nextSlot = 1;

function install(e: Omit<EntrySpec, 'slot'>): void {
  const key = `${e.name}/${e.type ?? 'A'}/${e.edns ? 'edns' : 'plain'}`;
  replies.set(key, santa.install({ ...e, slot: nextSlot++ }));
}

function stored(name: string, type: string, edns: boolean): Buffer {
  const r = replies.get(`${name}/${type}/${edns ? 'edns' : 'plain'}`);
  if (!r) throw new Error(`no entry for ${name}/${type}`);
  return r;
}

beforeAll(() => {
  requireRoot('santa_xdp response rate limiting tests');
  santa = SantaUnderTest.load();
  rrl = RrlMaps.open({ kind: 'fds', fds: santa.obj.maps }, santa.bpf, santaAbi());
  hz = kernelClock().hz;
  for (const edns of [false, true]) {
    for (const name of [EVEN, ODD]) install({ name, edns, answers: [{ name, type: 'A', ttl: 300, data: '192.0.2.80' }] });
    install({ name: 'nodata.example.test', type: 'MX', edns, answers: [], authorities: [SOA] });
    // An error with nothing after the question cannot be cached (the tail is empty).
    if (edns) install({ name: 'refused.example.test', edns, answers: [], rcode: 5 });
    for (const label of ['a', 'bb', 'ccc', 'dddd']) install({ name: `${label}.nx.example.test`, edns, rcode: 3, answers: [], authorities: [SOA] });
  }
});

afterAll(() => {
  rrl?.close();
  santa?.close();
});

/** A rate-limit block as named.conf would have it, through the same reader santa run uses. */
function configure(block: string): void {
  const [statement] = parseStatements(`rate-limit { ${block} };`, 'named.conf');
  cfg = rrlConfigFromStatement(statement);
  rrl.clearBuckets();
  rrl.writeConfig(cfg, hz);
  model = new RrlModel(cfg);
}

/**
 * Waits out the end of the program's current second (jiffies / HZ) when little of it is left.
 * The program reads the real clock; tests move time by rewriting bucket timestamps and expect
 * exact verdicts, which a second ticking over between two queries would shift by one credit.
 */
function awayFromSecondEnd(): void {
  const clock = kernelClock();
  const now = process.hrtime.bigint(); // CLOCK_MONOTONIC, as bpf_ktime_get_ns
  const j = clock.jiffiesAt(now);
  const next = clock.monotonicNsAt((j / BigInt(hz) + 1n) * BigInt(hz));
  const leftMs = Number(next - now) / 1e6;
  if (leftMs < 300) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.ceil(leftMs) + 5);
}

beforeEach(() => {
  santa.settings({});
  rrl.clearBuckets();
  awayFromSecondEnd();
});

interface Sent {
  verdict: RrlVerdict;
  out: Buffer;
  moved: Record<string, number>;
}

function frameFor(client: string, q: QuerySpec, optionRdata?: Buffer): { frame: Buffer; dns: Buffer } {
  const spec: FrameSpec = { src: client, dst: client.includes(':') ? SERVER6 : SERVER4, sport: 40000 + (q.id ?? 0) };
  let dns = dnsQuery(q);
  if (optionRdata) {
    dns = Buffer.concat([dns, optionRdata]);
    dns.writeUInt16BE(optionRdata.length, dns.length - optionRdata.length - 2);
  }
  return { frame: buildFrame(spec, dns), dns };
}

/** The second the program used for its last debit: the newest bucket timestamp. */
function programNow(): number {
  return Math.max(...rrl.buckets().map((b) => b.bucket.ts));
}

/** One query through the program; its verdict checked against the model's. */
function send(client: string, q: QuerySpec, opts: { cookie?: Buffer; validServerCookie?: boolean } = {}): Sent {
  const { frame } = frameFor(client, q, opts.cookie);
  const r = santa.run(frame);
  let verdict: RrlVerdict;
  if (r.retval === XDP_DROP) verdict = 'drop';
  else if (r.retval === XDP_TX && r.moved.RRL_SLIPPED === 1) verdict = 'slip';
  else if (r.retval === XDP_TX && r.moved.HITS === 1) verdict = r.moved.RRL_WOULD_LIMIT === 1 ? 'would-limit' : 'allow';
  else throw new Error(`unexpected run: retval ${r.retval}, counters ${JSON.stringify(r.moved)}`);
  const reply = stored(q.name.toLowerCase(), q.type ?? 'A', !!q.edns);
  const now = rrl.buckets().length ? programNow() : 0;
  expect(verdict).toBe(model.decide(client, rrlIdentity(reply), now, opts.validServerCookie));
  return { verdict, out: r.out, moved: r.moved };
}

/** Moves time forward by `seconds` for the program's buckets and the model's. */
function elapse(seconds: number): void {
  for (const b of rrl.buckets()) rrl.writeBucket(b.rawKey, { ...b.bucket, ts: b.bucket.ts - seconds });
  model.elapse(seconds);
}

/** The DNS message BIND sends when RRL slips: header with TC (or BADCOOKIE), question, OPT. */
function expectedSlip(queryDns: Buffer, reply: Buffer, cookie?: Buffer): Buffer {
  const qlen = queryDns.indexOf(0, 12) + 1 - 12 + 4;
  const edns = queryDns.readUInt16BE(10) === 1;
  const header = Buffer.alloc(12);
  queryDns.copy(header, 0, 0, 2);
  let flags = (reply.readUInt16BE(2) & ~0x0110) | (queryDns.readUInt16BE(2) & 0x0110);
  if (cookie) flags = (flags & ~(0x0400 | 0x0020 | 0x0200 | 0xf)) | 7;
  else {
    flags |= 0x0600; // TC, and AA as BIND has it before the answer is built
    if ((reply.readUInt16BE(2) & 0xf) !== 3) flags &= ~0xf;
  }
  header.writeUInt16BE(flags, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(edns ? 1 : 0, 10);
  const parts = [header, queryDns.subarray(12, 12 + qlen)];
  if (edns) {
    const opt = Buffer.from(reply.subarray(reply.length - 11));
    if (cookie) {
      opt[5] = 1; // BADCOOKIE (23) >> 4
      opt.writeUInt16BE(cookie.length, 9);
      parts.push(opt, cookie);
    } else parts.push(opt);
  }
  return Buffer.concat(parts);
}

describe('a flood from one prefix', () => {
  it('is limited to responses-per-second, slipping every 2nd limited reply, while another /24 is served', () => {
    configure('responses-per-second 5; window 15;');
    const verdicts: RrlVerdict[] = [];
    for (let i = 0; i < 40; i++) {
      // Two addresses of one /24 share its bucket.
      verdicts.push(send(i % 2 ? '10.1.1.5' : '10.1.1.77', { name: EVEN, id: i }).verdict);
      if (i % 8 === 0) expect(send('10.1.2.9', { name: EVEN, id: 1000 + i }).verdict).toBe('allow');
    }
    // Within one second: 5 answers, then BIND's slip 2 pattern (first limited reply slips).
    // A second boundary during the loop credits 5 more; the model has checked every step.
    expect(verdicts.slice(0, 5)).toEqual(['allow', 'allow', 'allow', 'allow', 'allow']);
    expect(verdicts[5]).toBe('slip');
    expect(verdicts.filter((v) => v === 'drop').length).toBeGreaterThan(10);
    expect(verdicts.filter((v) => v === 'slip').length).toBeGreaterThan(10);
  });

  it('IPv6 clients share a bucket per /56', () => {
    configure('responses-per-second 3; slip 0;');
    const inside = ['fd00:1:2:3300::1', 'fd00:1:2:33ff::2', 'fd00:1:2:3380:1::9'];
    const verdicts = Array.from({ length: 12 }, (_, i) => send(inside[i % 3], { name: ODD, id: i }).verdict);
    expect(verdicts.slice(0, 3)).toEqual(['allow', 'allow', 'allow']);
    expect(verdicts.filter((v) => v === 'drop').length).toBeGreaterThanOrEqual(6);
    expect(verdicts).not.toContain('slip'); // slip 0 never slips
    expect(send('fd00:1:2:3400::1', { name: ODD, id: 99 }).verdict).toBe('allow');
  });

  it('ipv4-prefix-length 32 separates every address', () => {
    configure('responses-per-second 1; ipv4-prefix-length 32; slip 1;');
    expect(send('10.1.1.5', { name: EVEN, id: 1 }).verdict).toBe('allow');
    expect(send('10.1.1.5', { name: EVEN, id: 2 }).verdict).toBe('slip'); // slip 1: every limited reply
    expect(send('10.1.1.6', { name: EVEN, id: 3 }).verdict).toBe('allow');
  });
});

describe('slipped replies', () => {
  it.each([
    ['IPv4', '10.7.7.7', EVEN, false],
    ['IPv4', '10.7.7.7', ODD, true],
    ['IPv6', 'fd07::7', EVEN, true],
    ['IPv6', 'fd07::7', ODD, false],
  ])('%s client %s, name %s, EDNS %s: a valid truncated response, as BIND sends it', (_f, client, name, edns) => {
    configure('responses-per-second 1; slip 1;');
    const q: QuerySpec = { name: name.toUpperCase(), id: 0x1234, cd: true, ...(edns ? { edns: { udpSize: 1232 } } : {}) };
    expect(send(client, q).verdict).toBe('allow');
    const { frame, dns: queryDns } = frameFor(client, { ...q, id: 0x2345 });
    const r = santa.run(frame);
    expect({ retval: r.retval, moved: r.moved }).toEqual({
      retval: XDP_TX,
      moved: { PACKETS: 1, DNS_QUERIES: 1, RRL_SLIPPED: 1, TX_BYTES: r.out.length },
    });
    const { dns } = verifyReply(frame, r.out);
    expect(dns.toString('hex')).toBe(expectedSlip(queryDns, stored(name, 'A', edns)).toString('hex'));
    const decoded = dnsPacket.decode(dns);
    expect(decoded.flag_tc).toBe(true);
    expect(rcodeName(dns)).toBe('NOERROR');
    expect(decoded.answers).toEqual([]);
    expect(decoded.authorities).toEqual([]);
  });

  it('a slipped referral has AA set, as BIND sets it before it knows the answer is a referral', () => {
    const name = 'www.sub.example.test';
    const referral = dnsPacket.encode({
      type: 'response',
      id: 0,
      flags: 0,
      questions: [{ name, type: 'A', class: 'IN' }],
      authorities: [{ name: 'sub.example.test', type: 'NS', ttl: 300, data: 'ns.sub.example.test' }],
      additionals: [
        { name: 'ns.sub.example.test', type: 'A', ttl: 300, data: '192.0.2.53' },
        { type: 'OPT', name: '.', udpPayloadSize: 1232 } as dnsPacket.Answer,
      ],
    });
    santa.installReply({ name, type: 'A' }, referral, { edns: true }, nextSlot++);
    replies.set(`${name}/A/edns`, referral);
    expect(rrlIdentity(referral).kind).toBe(RrlKind.Referral);
    configure('responses-per-second 1; slip 1;');
    expect(send('10.7.7.6', { name, id: 1, edns: { udpSize: 1232 } }).verdict).toBe('allow');
    const { frame, dns: queryDns } = frameFor('10.7.7.6', { name, id: 2, edns: { udpSize: 1232 } });
    const r = santa.run(frame);
    expect(r.moved.RRL_SLIPPED).toBe(1);
    const { dns } = verifyReply(frame, r.out);
    expect(dns.toString('hex')).toBe(expectedSlip(queryDns, referral).toString('hex'));
    expect(dnsPacket.decode(dns).flag_aa).toBe(true);
  });

  it('a slipped NXDOMAIN keeps its rcode', () => {
    configure('responses-per-second 50; nxdomains-per-second 1; slip 1;');
    expect(send('10.7.7.8', { name: 'a.nx.example.test', id: 1, edns: { udpSize: 1232 } }).verdict).toBe('allow');
    const { frame, dns: queryDns } = frameFor('10.7.7.8', { name: 'a.nx.example.test', id: 2, edns: { udpSize: 1232 } });
    const r = santa.run(frame);
    expect(r.moved.RRL_SLIPPED).toBe(1);
    const { dns } = verifyReply(frame, r.out);
    expect(dns.equals(expectedSlip(queryDns, stored('a.nx.example.test', 'A', true)))).toBe(true);
    expect(rcodeName(dns)).toBe('NXDOMAIN');
  });

  it('to a client that sent only a client cookie, the slip is BADCOOKIE with a fresh server cookie', () => {
    santa.settings({ cookie: { secret: SECRET, clockOffsetNs: wallClockOffsetNs() } });
    configure('responses-per-second 1; slip 1;');
    const q: QuerySpec = { name: ODD, id: 5, edns: { udpSize: 1232 } };
    expect(send('10.7.7.9', q, { cookie: cookieOption(CLIENT_COOKIE) }).verdict).toBe('allow');
    const { frame, dns: queryDns } = frameFor('10.7.7.9', { ...q, id: 6 }, cookieOption(CLIENT_COOKIE));
    const r = santa.run(frame);
    expect(r.moved.RRL_SLIPPED).toBe(1);
    const { dns } = verifyReply(frame, r.out);
    const sentCookie = dns.subarray(dns.length - 28);
    const when = sentCookie.readUInt32BE(4 + 8 + 4);
    const want = cookieOption(CLIENT_COOKIE, serverCookie(SECRET, CLIENT_COOKIE, '10.7.7.9', when));
    expect(dns.toString('hex')).toBe(expectedSlip(queryDns, stored(ODD, 'A', true), want).toString('hex'));
    expect(dnsPacket.decode(dns).flag_tc).toBe(false);
  });
});

describe('what is never limited', () => {
  it('exempt-clients: first match wins, a negated element is limited', () => {
    configure('responses-per-second 1; slip 0; exempt-clients { !10.9.9.7; 10.9.9.0/24; fd09::/32; };');
    for (let i = 0; i < 5; i++) {
      expect(send('10.9.9.1', { name: EVEN, id: i }).verdict).toBe('allow');
      expect(send('fd09::1', { name: EVEN, id: i }).verdict).toBe('allow');
    }
    expect(send('10.9.9.7', { name: EVEN, id: 10 }).verdict).toBe('allow');
    expect(send('10.9.9.7', { name: EVEN, id: 11 }).verdict).toBe('drop');
  });

  it('a client with a valid server cookie bypasses the limiter, as in BIND', () => {
    santa.settings({ cookie: { secret: SECRET, clockOffsetNs: wallClockOffsetNs() } });
    configure('responses-per-second 1; slip 0;');
    const good = serverCookie(SECRET, CLIENT_COOKIE, '10.9.8.1', Math.floor(Date.now() / 1000) - 10);
    for (let i = 0; i < 6; i++) {
      expect(send('10.9.8.1', { name: EVEN, id: i, edns: { udpSize: 1232 } }, { cookie: cookieOption(CLIENT_COOKIE, good), validServerCookie: true }).verdict).toBe('allow');
    }
    // The same netblock without the cookie is limited.
    expect(send('10.9.8.2', { name: EVEN, id: 20 }).verdict).toBe('allow');
    expect(send('10.9.8.2', { name: EVEN, id: 21 }).verdict).toBe('drop');
  });

  it('no rate-limit: nothing is limited and no bucket is made', () => {
    rrl.writeConfig(null, hz);
    for (let i = 0; i < 20; i++) {
      const r = santa.run(frameFor('10.1.1.1', { name: EVEN, id: i }).frame);
      expect(r.retval).toBe(XDP_TX);
      expect(r.moved.HITS).toBe(1);
    }
    expect(rrl.buckets()).toEqual([]);
  });

  it('log-only answers everything and counts what it would have limited', () => {
    configure('responses-per-second 2; log-only yes;');
    const verdicts = Array.from({ length: 8 }, (_, i) => send('10.1.3.3', { name: EVEN, id: i }).verdict);
    expect(verdicts.slice(0, 2)).toEqual(['allow', 'allow']);
    expect(verdicts).toContain('would-limit');
    expect(verdicts).not.toContain('drop');
  });
});

describe('identities and kinds', () => {
  it('nxdomains-per-second is counted per zone: different nonexistent names share one bucket', () => {
    configure('responses-per-second 100; nxdomains-per-second 2; slip 0;');
    const names = ['a', 'bb', 'ccc', 'dddd'].map((l) => `${l}.nx.example.test`);
    const verdicts = names.map((name, i) => send('10.4.4.4', { name, id: i }).verdict);
    expect(verdicts.slice(0, 2)).toEqual(['allow', 'allow']);
    expect(verdicts.slice(2)).toContain('drop');
    // Positive answers have their own bucket and rate.
    expect(send('10.4.4.4', { name: EVEN, id: 9 }).verdict).toBe('allow');
    const kinds = new Set(rrl.buckets().map((b) => b.key.kind));
    expect(kinds).toEqual(new Set([RrlKind.Nxdomain, RrlKind.Response]));
  });

  it('names differ per bucket for answers; NODATA has its own rate', () => {
    configure('responses-per-second 1; nodata-per-second 3; slip 0;');
    expect(send('10.4.4.5', { name: EVEN, id: 1 }).verdict).toBe('allow');
    expect(send('10.4.4.5', { name: ODD, id: 2 }).verdict).toBe('allow');
    const nodata = Array.from({ length: 4 }, (_, i) => send('10.4.4.5', { name: 'nodata.example.test', type: 'MX', id: 10 + i }).verdict);
    expect(nodata.slice(0, 3)).toEqual(['allow', 'allow', 'allow']);
  });

  it('errors are limited by errors-per-second and never slip', () => {
    configure('responses-per-second 100; errors-per-second 1; slip 1;');
    const verdicts = Array.from({ length: 5 }, (_, i) => send('10.4.4.6', { name: 'refused.example.test', id: i, edns: { udpSize: 1232 } }).verdict);
    expect(verdicts[0]).toBe('allow');
    expect(verdicts.slice(1)).not.toContain('slip');
    expect(verdicts).toContain('drop');
  });

  it('all-per-second limits every reply to a netblock together, and only drops', () => {
    configure('responses-per-second 100; all-per-second 3; slip 1;');
    const names = [EVEN, ODD, 'nodata.example.test', 'a.nx.example.test', EVEN, ODD];
    const verdicts = names.map((name, i) => send('10.4.4.7', { name, type: name.startsWith('nodata') ? 'MX' : 'A', id: i }).verdict);
    expect(verdicts.slice(0, 3)).toEqual(['allow', 'allow', 'allow']);
    expect(verdicts.slice(3)).not.toContain('slip');
    expect(verdicts).toContain('drop');
  });
});

describe('the balance over time', () => {
  it('credits rate per second up to rate, floors at -window * rate, and restarts after the window', () => {
    configure('responses-per-second 2; window 5; slip 0;');
    const client = '10.5.5.5';
    for (let i = 0; i < 40; i++) send(client, { name: EVEN, id: i });
    const floor = () => rrl.buckets().find((b) => b.key.kind === RrlKind.Response)!.bucket.balance;
    expect(floor()).toBe(-5 * 2); // a flood can owe at most window * rate tokens
    elapse(1);
    expect(send(client, { name: EVEN, id: 100 }).verdict).toBe('drop'); // -10 + 2 - 1 < 0
    elapse(4);
    // -9 + 8 = -1, minus this reply: still limited.
    expect(send(client, { name: EVEN, id: 101 }).verdict).toBe('drop');
    elapse(2);
    // -2 + 4 = 2 (the cap is rate): two answers, then limited.
    expect(send(client, { name: EVEN, id: 102 }).verdict).toBe('allow');
    expect(send(client, { name: EVEN, id: 103 }).verdict).toBe('allow');
    expect(send(client, { name: EVEN, id: 104 }).verdict).toBe('drop');
    for (let i = 0; i < 20; i++) send(client, { name: EVEN, id: 200 + i });
    elapse(6); // longer than the window: the bucket starts full, whatever it owed
    expect(send(client, { name: EVEN, id: 300 }).verdict).toBe('allow');
    expect(send(client, { name: EVEN, id: 301 }).verdict).toBe('allow');
  });

  it('the model and the program agree over a long random run with time moving', () => {
    configure('responses-per-second 4; nxdomains-per-second 2; window 3; slip 3; all-per-second 9; ipv4-prefix-length 30;');
    let seed = 12345;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const clients = ['10.6.0.1', '10.6.0.2', '10.6.0.5', 'fd06::1', 'fd06:0:0:ff::1'];
    const names = [EVEN, ODD, 'a.nx.example.test', 'bb.nx.example.test'];
    const seen = new Set<RrlVerdict>();
    for (let i = 0; i < 400; i++) {
      if (rand(25) === 0) elapse(1 + rand(4));
      seen.add(send(clients[rand(clients.length)], { name: names[rand(names.length)], id: i, ...(rand(2) ? { edns: { udpSize: 1232 } } : {}) }).verdict);
    }
    expect(seen).toEqual(new Set(['allow', 'drop', 'slip']));
  });
});

describe('configuration', () => {
  it('an empty rate-limit block limits nothing (BIND: responses-per-second defaults to 0)', () => {
    configure('');
    expect(cfg).toEqual({ ...defaultRrlConfig() });
    for (let i = 0; i < 10; i++) expect(send('10.1.1.1', { name: EVEN, id: i }).verdict).toBe('allow');
  });

  it('queries that pass to BIND are not counted against the client', () => {
    configure('responses-per-second 1; slip 0;');
    const miss = santa.run(frameFor('10.1.1.1', { name: 'missing.example.test', id: 1 }).frame);
    expect(miss.retval).toBe(XDP_PASS);
    expect(rrl.buckets()).toEqual([]);
  });
});
