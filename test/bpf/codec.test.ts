/**
 * The cache codecs against the header's layout (read from the binding) and against an
 * independent, textbook computation of every reply's UDP checksum.
 */
import { filterWordsFor, indexGroupsFor, santaAbi } from '../../sidecar/bpf/abi';
import {
  cacheEntry,
  cacheKey,
  cacheValue,
  decodeCacheKey,
  decodeCacheValue,
  decodeHits,
  decodeSettings,
  decodeStats,
  encodeSettings,
  fullValue,
  keyFlags,
  perCpuTotals,
  SantaSettings,
} from '../../sidecar/bpf/codec';
import { emulateReply, programChecksum } from './emulate';
import { rrlIdentity, RrlKind } from '../../sidecar/rrl/identity';
import {
  nameOfLength,
  optRecord,
  pointer,
  randomCase,
  rawReply,
  rr,
  seededRandom,
  textbookUdpChecksum,
  u16,
  u32,
  verifySum,
  wireName,
} from './wire';
import { formatIpv6 } from '../../sidecar/net/ip';

const abi = santaAbi();
const A = 1;
const NS = 2;
const SOA = 6;
const MX = 15;
const TXT = 16;
const AAAA = 28;
const QR_AA = 0x8400;
const CD_FLAG = 0x0010;
const plain = keyFlags({ recursionDesired: false, edns: false, dnssecOk: false });
const edns = keyFlags({ recursionDesired: false, edns: true, dnssecOk: false });
const ednsDo = keyFlags({ recursionDesired: false, edns: true, dnssecOk: true });
const rdEdns = keyFlags({ recursionDesired: true, edns: true, dnssecOk: false });

/** www.example.test A: answer at 12, NS in the authority pointing at "example.test" (byte 16),
 * glue owned by the NS target inside the tail, then OPT. */
function typicalReply(flags = QR_AA, withOpt = true, dnssecOk = false): Buffer {
  const qname = 'www.example.test';
  const tailStart = 12 + wireName(qname).length + 4;
  const answer = rr(pointer(12), A, 300, Buffer.from([192, 0, 2, 1]));
  const nsRdataOffset = tailStart + answer.length + 2 + 10;
  const authority = rr(pointer(16), NS, 300, Buffer.concat([Buffer.from([3]), Buffer.from('ns1'), pointer(16)]));
  const glue = rr(pointer(nsRdataOffset), A, 300, Buffer.from([192, 0, 2, 53]));
  return rawReply({
    flags,
    qname,
    answers: [answer],
    authority: [authority],
    additional: withOpt ? [glue, optRecord(1232, dnssecOk)] : [glue],
  });
}

describe('cacheKey', () => {
  it('keys every name length from the root to 255 bytes, header then name', () => {
    for (const length of [1, 3, 8, 9, 63, 64, 65, 128, 200, abi.limits.NAME_MAX]) {
      const name = nameOfLength(length);
      expect(wireName(name).length).toBe(length);
      const k = cacheKey({ name, type: 'A' }, plain);
      expect(k.key.length).toBe(abi.key.name + length);
      expect(decodeCacheKey(k.key).name).toEqual(wireName(name));
    }
  });

  it('lays out type, class, flags, length and the lower-case name', () => {
    const k = cacheKey({ name: 'WWW.Example.TEST.', type: 'AAAA', class: 'CH' }, ednsDo);
    const h = abi.keyHeader;
    const name = wireName('www.example.test');
    expect(k.key.readUInt16BE(h.qtype)).toBe(AAAA);
    expect(k.key.readUInt16BE(h.qclass)).toBe(3);
    expect(k.key[h.flags]).toBe(ednsDo);
    expect(k.key[h.nameLen]).toBe(name.length);
    expect(k.key.subarray(h.pad, h.size).every((b) => b === 0)).toBe(true);
    expect(k.key.subarray(abi.key.name)).toEqual(name);
    expect(decodeCacheKey(k.key)).toEqual({ name, qtype: AAAA, qclass: 3, flags: ednsDo });
    // As an entry holds it: zero-padded to the full name buffer.
    const padded = Buffer.alloc(abi.key.size);
    k.key.copy(padded);
    expect(decodeCacheKey(padded)).toEqual(decodeCacheKey(k.key));
  });

  it('gives one key for every spelling of a name: case, trailing dot, wire form, escapes', () => {
    const ref = cacheKey({ name: 'abc.example.test', type: 'A' }, plain).key;
    for (const name of ['ABC.Example.Test', 'abc.example.test.', wireName('aBc.EXAMPLE.test'), '\\065bc.example.test', '\\097\\098c.example.test']) {
      expect(cacheKey({ name, type: 1, class: 1 }, plain).key).toEqual(ref);
    }
    // Only ASCII letters fold; other bytes stay as they are.
    const dotted = cacheKey({ name: 'a\\.B.test', type: 'A' }, plain);
    expect(decodeCacheKey(dotted.key).name).toEqual(Buffer.from([3, 0x61, 0x2e, 0x62, 4, 0x74, 0x65, 0x73, 0x74, 0]));
  });

  it('refuses names, types and flags it cannot key', () => {
    expect(() => cacheKey({ name: nameOfLength(abi.limits.NAME_MAX + 1), type: 'A' }, plain)).toThrow(/more than 255|1\.\.255/);
    expect(() => cacheKey({ name: `${'a'.repeat(64)}.test`, type: 'A' }, plain)).toThrow(/label longer than 63/);
    expect(() => cacheKey({ name: 'a..test', type: 'A' }, plain)).toThrow(/empty label/);
    expect(() => cacheKey({ name: 'a.test', type: 'NOPE' }, plain)).toThrow(/unknown DNS record type "NOPE"/);
    expect(cacheKey({ name: 'a.test', type: 'TYPE65534' }, plain).key.readUInt16BE(abi.keyHeader.qtype)).toBe(65534);
    expect(() => cacheKey({ name: 'a.test', type: 'A' }, abi.keyFlags.DO)).toThrow(/DO set without EDNS/);
    expect(() => cacheKey({ name: 'a.test', type: 'A' }, 0x80)).toThrow(/unknown bits/);
    expect(() => keyFlags({ recursionDesired: false, edns: false, dnssecOk: true })).toThrow(/DO needs EDNS/);
  });
});

describe('cacheValue', () => {
  it('stores header bytes 2..11 with CD clear, the tail, slot and a full 64-bit lease', () => {
    const reply = typicalReply(QR_AA | CD_FLAG);
    const expiresJiffies = (1n << 62n) + 12345n; // beyond 2^53: must survive exactly
    const compact = cacheValue({ reply, slot: 4000000000, expiresJiffies, keyFlags: edns });
    const value = fullValue(compact);
    expect(value.length).toBe(abi.value.size);
    expect(compact).toEqual(value.subarray(0, compact.length));
    const d = decodeCacheValue(value);
    expect(decodeCacheValue(compact)).toEqual(d);
    const tailStart = 12 + wireName('www.example.test').length + 4;
    expect(d.expiresJiffies).toBe(expiresJiffies);
    expect(d.slot).toBe(4000000000);
    expect(d.tailLength).toBe(reply.length - tailStart);
    expect(d.tail).toEqual(reply.subarray(tailStart));
    const hdr = Buffer.from(reply.subarray(2, 12));
    hdr[1] &= ~CD_FLAG;
    expect(d.hdr).toEqual(hdr);
    expect(value[abi.value.pad]).toBe(0);
    // The rate-limiting bucket: a positive answer, keyed on its question.
    expect({ kind: d.rrlKind, id: d.rrlId }).toEqual(rrlIdentity(reply));
    expect(d.rrlKind).toBe(RrlKind.Response);
    expect(value.subarray(abi.value.tail + d.tailLength).every((b) => b === 0)).toBe(true);
  });

  it('accepts pointers to any label of the question and backwards into the tail', () => {
    // "example.test" at 16 and "test" at 24 are label starts of www.example.test.
    for (const target of [12, 16, 24]) {
      const reply = rawReply({ flags: QR_AA, qname: 'www.example.test', answers: [rr(pointer(target), A, 60, Buffer.from([1, 2, 3, 4]))] });
      expect(() => cacheValue({ reply, slot: 0, expiresJiffies: 1n, keyFlags: plain })).not.toThrow();
    }
    expect(() => cacheValue({ reply: typicalReply(), slot: 0, expiresJiffies: 1n, keyFlags: edns })).not.toThrow();
  });

  it('refuses pointers the program cannot keep valid, in owners and in RDATA', () => {
    const qname = 'www.example.test';
    const nameLen = wireName(qname).length;
    const tailStart = 12 + nameLen + 4;
    const cases: Array<[string, Buffer, RegExp]> = [
      ['into the middle of a label', rr(pointer(13), A, 60, Buffer.alloc(4)), /not a label of the question/],
      ['into qtype', rr(pointer(12 + nameLen), A, 60, Buffer.alloc(4)), /not a label of the question/],
      ['into the header', rr(pointer(2), A, 60, Buffer.alloc(4)), /not a label of the question/],
      ['forwards', rr(pointer(tailStart + 20), A, 60, Buffer.alloc(4)), /does not point backwards/],
      ['at itself', rr(pointer(tailStart), A, 60, Buffer.alloc(4)), /does not point backwards/],
      ['MX exchange into qclass', rr(pointer(12), MX, 60, Buffer.concat([u16(10), pointer(12 + nameLen + 2)])), /not a label of the question/],
    ];
    for (const [what, record, message] of cases) {
      const reply = rawReply({ flags: QR_AA, qname, answers: [record] });
      expect(() => cacheValue({ reply, slot: 0, expiresJiffies: 1n, keyFlags: plain })).toThrow(message);
      void what;
    }
  });

  it('refuses replies that do not match the key bits or cannot be replayed', () => {
    const value = (reply: Buffer, flags: number) => () => cacheValue({ reply, slot: 0, expiresJiffies: 1n, keyFlags: flags });
    expect(value(typicalReply(QR_AA), rdEdns)).toThrow(/RD in the reply \(false\) differs/);
    expect(value(typicalReply(QR_AA, false), edns)).toThrow(/no OPT record/);
    expect(value(typicalReply(QR_AA, true), plain)).toThrow(/has no EDNS but the reply carries an OPT/);
    expect(value(typicalReply(QR_AA, true, true), edns)).toThrow(/DO in the reply \(true\) differs/);
    expect(value(typicalReply(0x0400), edns)).toThrow(/QR is clear/);
    expect(value(typicalReply(QR_AA | 0x0200), edns)).toThrow(/truncated/);
    expect(value(typicalReply(QR_AA | (5 << 11)), edns)).toThrow(/opcode 5/);
    const optFirst = rawReply({ flags: QR_AA, qname: 'a.test', answers: [rr(pointer(12), A, 1, Buffer.alloc(4))], additional: [optRecord(1232, false), rr(pointer(12), A, 1, Buffer.alloc(4))] });
    expect(value(optFirst, edns)).toThrow(/OPT record is not the last/);
    expect(value(rawReply({ flags: QR_AA, qname: 'a.test' }), plain)).toThrow(/nothing follows the question/);
    expect(value(Buffer.concat([typicalReply(QR_AA, false), Buffer.from([0])]), plain)).toThrow(/1 bytes after the last record/);
    expect(value(typicalReply(QR_AA, false).subarray(0, 40), plain)).toThrow(/cut short|runs past/);
  });

  it('takes a tail of exactly TAIL_MAX bytes and refuses one more', () => {
    const txt = (tailLength: number) => {
      // owner pointer (2) + fixed fields (10) + rdata; rdata as <=255-byte character strings.
      let left = tailLength - 12;
      const parts: Buffer[] = [];
      while (left > 0) {
        const n = Math.min(255, left - 1);
        parts.push(Buffer.concat([Buffer.from([n]), Buffer.alloc(n, 0x78)]));
        left -= n + 1;
      }
      return rawReply({ flags: QR_AA, qname: 'big.test', qtype: TXT, answers: [rr(pointer(12), TXT, 60, Buffer.concat(parts))] });
    };
    const max = abi.limits.TAIL_MAX;
    const ok = decodeCacheValue(cacheValue({ reply: txt(max), slot: 0, expiresJiffies: 1n, keyFlags: plain }));
    expect(ok.tailLength).toBe(max);
    expect(() => cacheValue({ reply: txt(max + 1), slot: 0, expiresJiffies: 1n, keyFlags: plain })).toThrow(new RegExp(`${max + 1} bytes after the question`));
  });

  it('cacheEntry checks that the reply answers the keyed question', () => {
    const reply = typicalReply();
    const e = cacheEntry({ question: { name: 'WWW.example.test', type: 'A' }, reply, slot: 1, expiresJiffies: 2n, keyFlags: edns });
    expect(e.key).toEqual(cacheKey({ name: 'www.example.test', type: 'A' }, edns).key);
    expect(() => cacheEntry({ question: { name: 'www.example.test', type: 'AAAA' }, reply, slot: 1, expiresJiffies: 2n, keyFlags: edns })).toThrow(
      /www\.example\.test\. type 28 class 1: the reply answers www\.example\.test\. type 1/,
    );
  });
});

describe('csum_const', () => {
  /** A random reply: name of random length (odd and even), records of random sizes. */
  function randomReply(rnd: () => number, flags: number) {
    const labels = 1 + Math.floor(rnd() * 4);
    const name = Array.from({ length: labels }, () => 'abcdefghijklmnopqrstuvwxyz'.slice(0, 1 + Math.floor(rnd() * 20))).join('.');
    const records: Buffer[] = [];
    for (let i = 0, n = 1 + Math.floor(rnd() * 4); i < n; i++) {
      const n = Math.floor(rnd() * 8);
      records.push(rr(pointer(12), TXT, Math.floor(rnd() * 1e6), Buffer.concat([Buffer.from([n]), Buffer.alloc(n, 0x61 + i)])));
    }
    const withOpt = (flags & edns) !== 0;
    const reply = rawReply({
      flags: QR_AA,
      qname: name,
      qtype: TXT,
      answers: records,
      authority: [rr(wireName(name.split('.').slice(-1)[0]), SOA, 60, Buffer.concat([wireName('ns.test'), wireName('h.test'), Buffer.alloc(20, 1)]))],
      additional: withOpt ? [optRecord(1232, false)] : [],
    });
    return { name, reply };
  }

  it('plus the query-dependent parts gives the textbook UDP checksum, IPv4 and IPv6, odd and even names', () => {
    const rnd = seededRandom(20261127);
    const parities = new Set<number>();
    for (let round = 0; round < 200; round++) {
      const flags = rnd() < 0.5 ? plain : edns;
      const { name, reply } = randomReply(rnd, flags);
      parities.add(wireName(name).length % 2);
      const value = decodeCacheValue(cacheValue({ reply, slot: round, expiresJiffies: 1n, keyFlags: flags }));

      // The query a resolver sends: random ID, 0x20 case, CD sometimes; RD must match the key.
      const query = Buffer.concat([u16(Math.floor(rnd() * 65536)), u16(rnd() < 0.5 ? CD_FLAG : 0), u16(1), u16(0), u16(0), u16(0), wireName(randomCase(name, rnd)), u16(TXT), u16(1)]);
      const out = emulateReply(value, query);
      expect(out.subarray(12 + wireName(name).length + 4)).toEqual(reply.subarray(12 + wireName(name).length + 4));

      const v6 = rnd() < 0.5;
      const src = Buffer.from(Array.from({ length: v6 ? 16 : 4 }, () => Math.floor(rnd() * 256)));
      const dst = Buffer.from(Array.from({ length: v6 ? 16 : 4 }, () => Math.floor(rnd() * 256)));
      const sport = 53;
      const dport = 1024 + Math.floor(rnd() * 60000);
      const textbook = textbookUdpChecksum(src, dst, sport, dport, out);
      expect(programChecksum(value.csumConst, out, src, dst, sport, dport)).toBe(textbook);

      // And the datagram with that checksum verifies the way a receiver checks it.
      const udpLength = 8 + out.length;
      const pseudo = v6 ? Buffer.concat([src, dst, u32(udpLength), Buffer.from([0, 0, 0, 17])]) : Buffer.concat([src, dst, Buffer.from([0, 17]), u16(udpLength)]);
      expect(verifySum(Buffer.concat([pseudo, u16(sport), u16(dport), u16(udpLength), u16(textbook), out]))).toBe(0xffff);
    }
    expect([...parities].sort()).toEqual([0, 1]);
  });

  it('changes when any RDATA byte of the tail changes, at odd and even offsets', () => {
    const reply = typicalReply();
    const base = decodeCacheValue(cacheValue({ reply, slot: 0, expiresJiffies: 1n, keyFlags: edns })).csumConst;
    const answerRdata = 12 + wireName('www.example.test').length + 4 + 12;
    for (let at = answerRdata; at < answerRdata + 4; at++) {
      const changed = Buffer.from(reply);
      changed[at] ^= 0x01;
      expect(decodeCacheValue(cacheValue({ reply: changed, slot: 0, expiresJiffies: 1n, keyFlags: edns })).csumConst).not.toBe(base);
    }
  });
});

describe('counters and settings', () => {
  it('sums every per-CPU copy of every counter by name', () => {
    const cpus = 3;
    const stride = Math.ceil(abi.stats.size / 8) * 8;
    const buf = Buffer.alloc(stride * cpus);
    const names = Object.keys(abi.counters);
    expect(names.length).toBe(abi.stats.counterCount);
    for (let cpu = 0; cpu < cpus; cpu++) {
      for (const [name, index] of Object.entries(abi.counters)) {
        buf.writeBigUInt64LE(BigInt((index + 1) * 1000 + cpu), cpu * stride + index * abi.stats.counterSize);
        void name;
      }
    }
    const stats = decodeStats(buf);
    for (const [name, index] of Object.entries(abi.counters)) expect(stats[name]).toBe(3 * (index + 1) * 1000 + 0 + 1 + 2);
    const hits = Buffer.alloc(8 * cpus);
    hits.writeBigUInt64LE(5n, 0);
    hits.writeBigUInt64LE(7n, 16);
    expect(decodeHits(hits)).toBe(12);
    // Three slots of two CPUs, one beyond 32 bits.
    const slots = Buffer.alloc(3 * 2 * 8);
    slots.writeBigUInt64LE(1n, 0);
    slots.writeBigUInt64LE(2n, 8);
    slots.writeBigUInt64LE(0x1_0000_0001n, 32);
    slots.writeBigUInt64LE(5n, 40);
    expect([...perCpuTotals(slots, 3, 8, 2)]).toEqual([3, 0, 0x1_0000_0006]);
    expect(() => decodeStats(buf.subarray(1))).toThrow(/not a whole number/);
  });

  it('encodes and decodes settings symmetrically', () => {
    const settings: SantaSettings[] = [
      { mode: 'off', maxUdpSize: 0, ports: [], v4Addrs: [], v6Addrs: [] },
      { mode: 'dry-run', maxUdpSize: 1232, ports: [53, 5353], v4Addrs: ['10.53.0.2'], v6Addrs: ['fd53::2'] },
      {
        mode: 'on',
        maxUdpSize: 4096,
        ports: Array.from({ length: abi.limits.MAX_PORTS }, (_, i) => 1000 + i),
        v4Addrs: Array.from({ length: abi.limits.MAX_ADDRS }, (_, i) => `192.0.2.${i}`),
        v6Addrs: Array.from({ length: abi.limits.MAX_ADDRS }, (_, i) => `2001:db8::${i + 1}`),
        nocookieUdpSize: 512,
        blackhole: [
          ...Array.from({ length: abi.settings.maxBlackhole }, (_, i) => ({ family: 4 as const, address: Buffer.from([10, i, 0, 0]), length: 16, negated: i % 2 === 1 })),
          { family: 6, address: Buffer.from('20010db8000000000000000000000000', 'hex'), length: 32, negated: false },
        ],
      },
    ];
    for (const s of settings) {
      const buf = encodeSettings(s);
      expect(buf.length).toBe(abi.settings.size);
      expect(decodeSettings(buf)).toEqual(s);
    }
    const s = encodeSettings(settings[1]);
    expect(s.readUInt16BE(abi.settings.ports + 2)).toBe(5353); // wire order
    expect([...s.subarray(abi.settings.v4Addrs, abi.settings.v4Addrs + 4)]).toEqual([10, 53, 0, 2]);
  });

  it('refuses settings the program cannot hold', () => {
    const base: SantaSettings = { mode: 'on', maxUdpSize: 0, ports: [], v4Addrs: [], v6Addrs: [] };
    expect(() => encodeSettings({ ...base, ports: Array.from({ length: abi.limits.MAX_PORTS + 1 }, () => 53) })).toThrow(/at most/);
    expect(() => encodeSettings({ ...base, ports: [0] })).toThrow(/port 0/);
    expect(() => encodeSettings({ ...base, v4Addrs: ['10.0.0.256'] })).toThrow(/not an IPv4/);
    expect(() => encodeSettings({ ...base, v6Addrs: ['fe80::1%eth0'] })).toThrow(/not an IPv6/);
    expect(() => encodeSettings({ ...base, maxUdpSize: 100 })).toThrow(/512\.\.65535/);
    expect(() => encodeSettings({ ...base, mode: 'sometimes' as never })).toThrow(/not off, dry-run or on/);
    const prefix = { family: 6 as const, address: Buffer.alloc(16), length: 0, negated: false };
    expect(() => encodeSettings({ ...base, blackhole: Array.from({ length: abi.settings.maxBlackhole + 1 }, () => prefix) })).toThrow(
      /blackhole has 17 IPv6 elements; Santa supports at most 16/,
    );
  });

  it('formats IPv6 addresses canonically (RFC 5952)', () => {
    const cases: Array<[string, string]> = [
      ['::', '::'],
      ['0:0:0:0:0:0:0:1', '::1'],
      ['FD53:0:0:0:0:0:0:2', 'fd53::2'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2:3:4:5:6'],
      ['::ffff:192.0.2.1', '::ffff:c000:201'],
    ];
    for (const [input, canonical] of cases) {
      const buf = encodeSettings({ mode: 'on', maxUdpSize: 0, ports: [], v4Addrs: [], v6Addrs: [input] });
      expect(decodeSettings(buf).v6Addrs).toEqual([canonical]);
      expect(formatIpv6(buf.subarray(abi.settings.v6Addrs, abi.settings.v6Addrs + 16))).toBe(canonical);
    }
  });
});

describe('map sizes for a cache', () => {
  it('index groups hold twice the entries in ways, a power of two', () => {
    for (const entries of [1, 8, 1000, 16_384, 100_000]) {
      const groups = indexGroupsFor(entries, abi);
      expect(groups & (groups - 1)).toBe(0);
      expect(groups * abi.index.ways).toBeGreaterThanOrEqual(2 * entries);
      expect(groups === 1 || (groups / 2) * abi.index.ways < 2 * entries).toBe(true);
    }
  });

  it('the miss filter keeps about 16 bits per entry, a power of two of words, never below the default', () => {
    expect(filterWordsFor(1, abi)).toBe(abi.filter.wordsDefault);
    expect(filterWordsFor(16_384, abi)).toBe(abi.filter.wordsDefault);
    for (const entries of [16_385, 100_000, 1_000_000]) {
      const words = filterWordsFor(entries, abi);
      expect(words & (words - 1)).toBe(0);
      expect(words * 64).toBeGreaterThanOrEqual(16 * entries);
      expect((words / 2) * 64).toBeLessThan(16 * entries);
    }
    expect(filterWordsFor(2 ** 40, abi)).toBe(abi.filter.wordsMax);
    expect(() => filterWordsFor(0, abi)).toThrow(/at least one entry/);
  });
});
