/**
 * The zone change guard (santa_abi.h), run for real through BPF_PROG_TEST_RUN: an UPDATE or a
 * NOTIFY for a zone, on its way to BIND, bumps the generation of the zone's slot (the slot user
 * space computes with SantaMaps.zoneSlot), and from that packet on every entry stamped with the
 * old generation passes to BIND as PASS_ZONE_CHANGED. The messages themselves pass untouched.
 */
import * as dnsPacket from 'dns-packet';
import { requireRoot } from '../support/require-root';
import { buildFrame, buildTcpFrame, dnsOverTcp, dnsQuery, FrameSpec } from '../support/packets';
import { notifyMessage as notify, transferResponse, updateMessage as update } from '../support/zone-messages';
import { SantaUnderTest, XDP_PASS, XDP_TX } from './harness';

const V4: FrameSpec = { src: '10.53.0.1', dst: '10.53.0.2', sport: 41000 };
const V6: FrameSpec = { src: 'fd53::1', dst: 'fd53::2', sport: 41000 };
const ZONE = 'example.test';
const WWW = 'www.example.test';
const WWW_A: dnsPacket.Answer[] = [{ name: WWW, type: 'A', ttl: 300, data: '192.0.2.80' }];

let santa: SantaUnderTest;
let nextSlot = 1;

beforeAll(() => {
  requireRoot('zone change guard tests');
  santa = SantaUnderTest.load();
});

afterAll(() => santa?.close());

function gen(slot: number): number {
  return santa.maps.readZoneGens()[slot];
}

/** Runs a message that must pass unchanged; returns how much it moved ZONE_CHANGES. */
function passes(frame: Buffer): number {
  const r = santa.run(frame);
  expect(r.retval).toBe(XDP_PASS);
  expect(r.out.equals(frame)).toBe(true);
  expect(r.moved.PASS_UNSUPPORTED).toBe(1);
  return r.moved.ZONE_CHANGES ?? 0;
}

/** Runs a frame the answer path does not take (TCP): it must pass unchanged as not DNS; returns
 * how much it bumped ZONE's generation, which must be what ZONE_CHANGES moved. */
function bumps(frame: Buffer): number {
  const slot = santa.maps.zoneSlot(ZONE);
  const before = gen(slot);
  const r = santa.run(frame);
  expect([r.retval, r.out.equals(frame), r.moved.PASS_NOT_DNS, r.moved.DNS_QUERIES]).toEqual([XDP_PASS, true, 1, undefined]);
  expect(gen(slot) - before).toBe(r.moved.ZONE_CHANGES ?? 0);
  return r.moved.ZONE_CHANGES ?? 0;
}

function query(spec: FrameSpec): Buffer {
  return buildFrame(spec, dnsQuery({ name: WWW }));
}

describe('zone change guard', () => {
  it('an UPDATE for the zone stops its entries at once; restamped entries hit again', () => {
    const slot = santa.maps.zoneSlot(ZONE);
    const before = gen(slot);
    santa.install({ name: WWW, answers: WWW_A, slot: nextSlot++, zone: { slot, gen: before } });
    expect(santa.run(query(V4)).retval).toBe(XDP_TX);

    expect(passes(buildFrame(V4, update(ZONE)))).toBe(1);
    expect(gen(slot)).toBe(before + 1);
    const r = santa.run(query(V4));
    expect({ retval: r.retval, moved: r.moved }).toEqual({ retval: XDP_PASS, moved: { PACKETS: 1, DNS_QUERIES: 1, PASS_ZONE_CHANGED: 1 } });
    expect(santa.run(query(V6)).moved.PASS_ZONE_CHANGED).toBe(1);

    // What user space does once BIND has applied the change and the answer is verified again.
    santa.install({ name: WWW, answers: WWW_A, slot: nextSlot++, zone: { slot, gen: before + 1 } });
    expect(santa.run(query(V4)).retval).toBe(XDP_TX);
  });

  it('a NOTIFY over IPv6 bumps the same slot, whatever the case of the zone name', () => {
    const slot = santa.maps.zoneSlot(ZONE);
    const before = gen(slot);
    expect(passes(buildFrame(V6, notify('Example.TEST')))).toBe(1);
    expect(gen(slot)).toBe(before + 1);
  });

  it("names of every length reach the zone's slot (the last word of the name is cut where it ends)", () => {
    for (const zone of ['a', 'ab.c', 'seven.x', 'eight.xy', 'nine-long.example', 'a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.example.test']) {
      const slot = santa.maps.zoneSlot(zone);
      const before = gen(slot);
      expect([zone, passes(buildFrame(V4, update(zone)))]).toEqual([zone, 1]);
      expect([zone, gen(slot)]).toEqual([zone, before + 1]);
    }
  });

  it('another zone, a response, a query and a malformed name leave the slot alone', () => {
    const slot = santa.maps.zoneSlot(ZONE);
    const before = gen(slot);
    const others = santa.maps.readZoneGens();
    expect(passes(buildFrame(V4, update('other.test')))).toBe(1);
    expect(gen(slot)).toBe(before);
    expect(Array.from(santa.maps.readZoneGens()).filter((g, i) => g !== others[i])).toEqual([others[santa.maps.zoneSlot('other.test')] + 1]);

    const response = update(ZONE, { response: true });
    expect(response.readUInt16BE(2) >> 11).toBe(0x10 | 5); // QR, opcode UPDATE
    expect(passes(buildFrame(V4, response))).toBe(0);
    expect(santa.run(buildFrame(V4, dnsQuery({ name: ZONE, type: 'SOA' }))).moved.ZONE_CHANGES).toBeUndefined();
    // A compression pointer where the zone name starts: BIND answers FORMERR; nothing to bump.
    const pointer = Buffer.concat([update(ZONE).subarray(0, 12), Buffer.from([0xc0, 0x0c, 0, 6, 0, 1])]);
    expect(passes(buildFrame(V4, pointer))).toBe(0);
    // A name that runs past the message.
    const cut = Buffer.concat([update(ZONE).subarray(0, 12), Buffer.from([7, 0x65, 0x78])]);
    expect(passes(buildFrame(V4, cut))).toBe(0);
    expect(gen(slot)).toBe(before);
  });

  it('over TCP: an UPDATE or NOTIFY starting a segment to a served port bumps the slot, and passes as not DNS', () => {
    expect(bumps(buildTcpFrame(V4, dnsOverTcp(update(ZONE))))).toBe(1);
    expect(bumps(buildTcpFrame(V6, dnsOverTcp(notify(ZONE))))).toBe(1);
    expect(bumps(buildTcpFrame(V4, dnsOverTcp(update(ZONE)), { dataOffset: 8 }))).toBe(1); // TCP options
    // Not news: a query, a response, another port, a segment cut inside the name, a bare ACK.
    expect(bumps(buildTcpFrame(V4, dnsOverTcp(dnsQuery({ name: WWW }))))).toBe(0);
    expect(bumps(buildTcpFrame(V4, dnsOverTcp(update(ZONE, { response: true }))))).toBe(0);
    expect(bumps(buildTcpFrame({ ...V4, dport: 80 }, dnsOverTcp(update(ZONE))))).toBe(0);
    expect(bumps(buildTcpFrame(V4, dnsOverTcp(update(ZONE)).subarray(0, 2 + 12 + 5)))).toBe(0);
    expect(bumps(buildTcpFrame(V6, Buffer.alloc(0)))).toBe(0);
  });

  it("over TCP to any port: the answer to a transfer BIND asked a primary for (its own refresh) bumps the slot", () => {
    // From the primary's port 53 to the port named's transfer connection came from.
    const fromPrimary = { ...V4, sport: 53, dport: 40123 };
    expect(bumps(buildTcpFrame(fromPrimary, dnsOverTcp(transferResponse(ZONE))))).toBe(1);
    expect(bumps(buildTcpFrame({ ...V6, sport: 53, dport: 40124 }, dnsOverTcp(transferResponse('Example.Test', { type: 'IXFR' }))))).toBe(1);
    // Not a change arriving: the transfer refused, a query for one (a secondary asking this
    // server), an answer to another question, a segment cut before the question's type, UDP.
    expect(bumps(buildTcpFrame(fromPrimary, dnsOverTcp(transferResponse(ZONE, { rcode: 5 }))))).toBe(0);
    expect(bumps(buildTcpFrame(V4, dnsOverTcp(dnsQuery({ name: ZONE, type: 'AXFR' }))))).toBe(0);
    const soaAnswer = transferResponse(ZONE);
    soaAnswer.writeUInt16BE(6, 12 + ZONE.length + 2); // the question's type: SOA
    expect(bumps(buildTcpFrame(fromPrimary, dnsOverTcp(soaAnswer)))).toBe(0);
    expect(bumps(buildTcpFrame(fromPrimary, dnsOverTcp(transferResponse(ZONE)).subarray(0, 2 + 12 + ZONE.length + 2 + 1)))).toBe(0);
    const udp = santa.run(buildFrame(fromPrimary, transferResponse(ZONE)));
    expect(udp.moved.ZONE_CHANGES).toBeUndefined();
  });

  it('in IP fragments: the first fragment of an UPDATE bumps the slot, later ones cannot show it', () => {
    const slot = santa.maps.zoneSlot(ZONE);
    const fragment = (frame: Buffer) => {
      const before = gen(slot);
      const r = santa.run(frame);
      expect([r.retval, r.out.equals(frame), r.moved.PASS_FRAGMENT, r.moved.DNS_QUERIES]).toEqual([XDP_PASS, true, 1, undefined]);
      expect(gen(slot) - before).toBe(r.moved.ZONE_CHANGES ?? 0);
      return r.moved.ZONE_CHANGES ?? 0;
    };
    expect(fragment(buildFrame({ ...V4, ipv4FragField: 0x2000 }, update(ZONE)))).toBe(1); // MF, offset 0
    expect(fragment(buildFrame({ ...V4, ipv4FragField: 0x0010 }, update(ZONE)))).toBe(0); // offset 128
    // IPv6: a fragment header (offset 0) before the UDP header.
    expect(fragment(buildFrame({ ...V6, ipv6NextHeader: 44 }, update(ZONE)))).toBe(1);
    expect(fragment(buildFrame({ ...V4, ipv4FragField: 0x2000 }, dnsQuery({ name: WWW })))).toBe(0);
  });

  it('with the mode off the program parses nothing, so nothing is bumped', () => {
    const slot = santa.maps.zoneSlot(ZONE);
    const before = gen(slot);
    santa.settings({ mode: 'off' });
    try {
      const r = santa.run(buildFrame(V4, update(ZONE)));
      expect([r.retval, r.moved.PASS_DISABLED]).toEqual([XDP_PASS, 1]);
    } finally {
      santa.settings({});
    }
    expect(gen(slot)).toBe(before);
  });
});
