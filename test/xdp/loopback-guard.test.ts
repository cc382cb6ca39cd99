/**
 * The zone change guard on the loopback device (santa_lo_guard, xdp/zone_guard.h), run for real
 * through BPF_PROG_TEST_RUN as the tc program it is: an UPDATE or NOTIFY sent to BIND from the
 * same host (to 127.0.0.1, ::1 or any of the host's addresses, all of which travel over lo)
 * bumps the zone's generation in the maps it shares with santa_xdp, so santa_xdp stops answering
 * for the zone on the interface. It never changes a packet or its fate.
 */
import { requireRoot } from '../support/require-root';
import { buildFrame, buildTcpFrame, dnsOverTcp, dnsQuery, FrameSpec } from '../support/packets';
import { notifyMessage, transferResponse, updateMessage } from '../support/zone-messages';
import { SantaUnderTest, XDP_PASS, XDP_TX } from './harness';

/** TC_ACT_UNSPEC (-1) as the test run reports the 32-bit return value. */
const TC_ACT_UNSPEC = 0xffffffff;
const LO_V4: FrameSpec = { src: '127.0.0.1', dst: '127.0.0.1', sport: 41000 };
const LO_V6: FrameSpec = { src: '::1', dst: '::1', sport: 41000 };
const NIC_V4: FrameSpec = { src: '10.53.0.1', dst: '10.53.0.2', sport: 41000 };
const ZONE = 'example.test';
const WWW = 'www.example.test';

let santa: SantaUnderTest;

beforeAll(() => {
  requireRoot('loopback guard tests');
  santa = SantaUnderTest.load();
});

afterAll(() => santa?.close());

function gen(zone = ZONE): number {
  return santa.maps.readZoneGens()[santa.maps.zoneSlot(zone)];
}

/** Runs the guard on a frame; checks it came out unchanged with TC_ACT_UNSPEC and that only the
 * guard's own counter can have moved, by as much as the zone's generation. Returns that. */
function guard(frame: Buffer, zone = ZONE): number {
  const before = gen(zone);
  const r = santa.runLoopbackGuard(frame);
  expect(r.retval).toBe(TC_ACT_UNSPEC);
  expect(r.out.equals(frame)).toBe(true);
  const { LOOPBACK_ZONE_CHANGES: bumps = 0, ...others } = r.moved;
  expect(others).toEqual({});
  expect(gen(zone) - before).toBe(bumps);
  return bumps;
}

describe('loopback guard (tc ingress on lo)', () => {
  it('an UPDATE over loopback stops the zone’s answers on the interface; re-verified entries hit again', () => {
    const before = gen();
    santa.install({ name: WWW, answers: [{ name: WWW, type: 'A', ttl: 300, data: '192.0.2.80' }], slot: 1, zone: { slot: santa.maps.zoneSlot(ZONE), gen: before } });
    const query = buildFrame(NIC_V4, dnsQuery({ name: WWW }));
    expect(santa.run(query).retval).toBe(XDP_TX);

    expect(guard(buildFrame(LO_V4, updateMessage(ZONE)))).toBe(1);
    const r = santa.run(query);
    expect({ retval: r.retval, moved: r.moved }).toEqual({ retval: XDP_PASS, moved: { PACKETS: 1, DNS_QUERIES: 1, PASS_ZONE_CHANGED: 1 } });

    santa.install({ name: WWW, answers: [{ name: WWW, type: 'A', ttl: 300, data: '192.0.2.81' }], slot: 2, zone: { slot: santa.maps.zoneSlot(ZONE), gen: before + 1 } });
    expect(santa.run(query).retval).toBe(XDP_TX);
  });

  it('sees UDP and TCP, IPv4 and IPv6, whatever the case of the name, to any local address', () => {
    expect(guard(buildFrame(LO_V6, notifyMessage('Example.TEST')))).toBe(1);
    expect(guard(buildTcpFrame(LO_V4, dnsOverTcp(updateMessage(ZONE))))).toBe(1); // nsupdate -v
    expect(guard(buildTcpFrame(LO_V6, dnsOverTcp(notifyMessage(ZONE)), { dataOffset: 8 }))).toBe(1); // TCP options
    // The host's own interface address: a local client reaches it over lo too.
    expect(guard(buildFrame(NIC_V4, updateMessage(ZONE)))).toBe(1);
    expect(guard(buildFrame({ ...LO_V4, ipv4FragField: 0x2000 }, updateMessage(ZONE)))).toBe(1); // first fragment
    expect(guard(buildFrame({ ...LO_V6, ipv6NextHeader: 44 }, updateMessage(ZONE)))).toBe(1); // IPv6 fragment header, offset 0
    expect(guard(buildFrame(LO_V4, updateMessage('a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.example.test')), 'a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.example.test')).toBe(1);
  });

  it('leaves the zone alone for queries, responses, other ports, later fragments and malformed names', () => {
    const all = santa.maps.readZoneGens();
    expect(guard(buildFrame(LO_V4, dnsQuery({ name: ZONE, type: 'SOA' })))).toBe(0);
    expect(guard(buildFrame(LO_V4, updateMessage(ZONE, { response: true })))).toBe(0);
    expect(guard(buildFrame({ ...LO_V4, dport: 5353 }, updateMessage(ZONE)))).toBe(0);
    expect(guard(buildTcpFrame({ ...LO_V4, dport: 953 }, dnsOverTcp(updateMessage(ZONE))))).toBe(0); // rndc's port
    expect(guard(buildFrame({ ...LO_V4, ipv4FragField: 0x0010 }, updateMessage(ZONE)))).toBe(0); // offset 128
    expect(guard(buildTcpFrame(LO_V4, dnsOverTcp(updateMessage(ZONE)).subarray(0, 2 + 12 + 5)))).toBe(0); // cut in the name
    expect(guard(buildTcpFrame(LO_V6, Buffer.alloc(0)))).toBe(0); // a bare ACK
    const pointer = Buffer.concat([updateMessage(ZONE).subarray(0, 12), Buffer.from([0xc0, 0x0c, 0, 6, 0, 1])]);
    expect(guard(buildFrame(LO_V4, pointer))).toBe(0);
    // Transfers over lo are Santa's own from BIND (bind.*_zones: transfer), not news.
    expect(guard(buildTcpFrame({ ...LO_V4, sport: 53, dport: 40123 }, dnsOverTcp(transferResponse(ZONE))))).toBe(0);
    expect(santa.maps.readZoneGens()).toEqual(all);
  });

  it('served ports follow the settings santa_xdp reads', () => {
    santa.settings({ ports: [5300] });
    try {
      expect(guard(buildFrame(LO_V4, updateMessage(ZONE)))).toBe(0);
      expect(guard(buildFrame({ ...LO_V4, dport: 5300 }, updateMessage(ZONE)))).toBe(1);
    } finally {
      santa.settings({});
    }
  });

  it('with the mode off it sees nothing, as santa_xdp does not', () => {
    santa.settings({ mode: 'off' });
    try {
      expect(guard(buildFrame(LO_V4, updateMessage(ZONE)))).toBe(0);
    } finally {
      santa.settings({});
    }
  });

  it('a packet cut short of what its headers promise goes on untouched', () => {
    // The test run itself refuses frames shorter than their IP header; past it, every cut.
    const v4 = buildFrame(LO_V4, updateMessage(ZONE));
    for (const len of [34, 40, 42, 54, 56, 60]) expect([len, guard(v4.subarray(0, len))]).toEqual([len, 0]);
    const v6 = buildTcpFrame(LO_V6, dnsOverTcp(updateMessage(ZONE)));
    for (const len of [54, 60, 74, 76, 88, 92]) expect([len, guard(v6.subarray(0, len))]).toEqual([len, 0]);
  });
});
