/**
 * End to end: the real XDP program on a veth pair answers cached questions before BIND sees
 * them, and everything else still reaches BIND (issue 2).
 *
 *   client ns  santa-c 10.53.0.1 / fd53::1  ──veth──  santa-s 10.53.0.2 / fd53::2  server ns
 *   dig, kdig, the test's client, tcpdump             santa.bpf.o (XDP), named with query log
 *                                                     serving zones-example/example.test.zone
 *
 * Entries are encoded and installed by the TypeScript layer (sidecar/bpf codec + SantaMaps). Most
 * hold BIND's own answer to the same query, fetched over TCP (which the program never touches);
 * two hold replies Santa's response builder made from the zone file. Then, in generic and in
 * native mode, over IPv4 and IPv6:
 *   - a cached question asked in mixed case (0x20) is answered by XDP: its entry's hit counter and
 *     the program's hit counter move by one per query, BIND's query log never shows it (a later
 *     uncached sentinel query proves the log was written past that point), and the reply is
 *     BIND's answer with the query's own question bytes, ID and RD;
 *   - the builder's replies, served by XDP, say what BIND says to the same query;
 *   - dig and kdig, real clients, get the cached answers;
 *   - an uncached name, and a cached name asked with other query bits, are answered by BIND and
 *     logged, and the program counts them as misses;
 *   - every XDP reply captured on the client veth carries a valid IPv4 header checksum and a
 *     full, valid UDP checksum (verified here, not by the kernel, which may trust veth frames).
 * Native XDP_TX on veth needs an XDP program on the peer: the client end gets an XDP_PASS one.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import { machine, tmpdir } from 'os';
import { join, resolve } from 'path';
import { startBind, BindServer } from '../support/bind';
import { query, queryMany, DnsAnswer, QuestionSpec } from '../support/dns-client';
import { createTopology, snmpCounter, Topology } from '../support/netns';
import { Background, run, waitFor } from '../support/process';
import { requireRoot, requireTools } from '../support/require-root';
import { loadNative, LoadedObject, SantaNative, XdpMode } from '../../sidecar/bpf/native';
import { cacheEntry, keyFlags, QueryBits } from '../../sidecar/bpf/codec';
import { SantaMaps } from '../../sidecar/bpf/maps';
import { buildResponse } from '../../sidecar/response/build';
import { parseZoneFile } from '../../sidecar/zone/parse';
import * as dnsPacket from 'dns-packet';
import { parsePcap } from './pcap';

const SANTA_OBJECT = resolve(__dirname, '../../xdp/build/santa.bpf.o');
const PASS_SOURCE = resolve(__dirname, 'fixtures/xdp_pass.bpf.c');
const ZONES_DIR = resolve(__dirname, '../../zones-example');
const ZONE_FILE = join(ZONES_DIR, 'example.test.zone');
const LEASE_NS = 600n * 1_000_000_000n;

/** A question the test caches, and how clients ask it. */
interface CachedCase {
  label: string;
  name: string;
  type: 'A' | 'AAAA' | 'MX';
  bits: QueryBits;
  slot: number;
}

// dig +norec +nocookie sends EDNS (1232) with RD clear; kdig by default sends RD and no EDNS.
const DIG_BITS: QueryBits = { recursionDesired: false, edns: true, dnssecOk: false };
const KDIG_BITS: QueryBits = { recursionDesired: true, edns: false, dnssecOk: false };
const CACHED: CachedCase[] = [
  { label: 'www A (EDNS, RD=0)', name: 'www.example.test', type: 'A', bits: DIG_BITS, slot: 1 },
  { label: 'www AAAA (no EDNS, RD=1)', name: 'www.example.test', type: 'AAAA', bits: KDIG_BITS, slot: 2 },
  { label: 'ns1 A (EDNS, RD=0)', name: 'ns1.example.test', type: 'A', bits: DIG_BITS, slot: 3 },
];

// Santa's own path: replies built from the parsed zone file by the response builder, never
// fetched from BIND (BIND's answers are fetched only to compare with).
const BUILDER_BITS: QueryBits = { recursionDesired: true, edns: true, dnssecOk: false };
const BUILT: CachedCase[] = [
  { label: 'www A (EDNS, RD=1), built', name: 'www.example.test', type: 'A', bits: BUILDER_BITS, slot: 10 },
  { label: 'apex MX (EDNS, RD=1), built', name: 'example.test', type: 'MX', bits: BUILDER_BITS, slot: 11 },
];

function spec(c: { name: string; type: CachedCase['type']; bits: QueryBits }, name = c.name, id?: number): QuestionSpec {
  return {
    name,
    type: c.type,
    id,
    rd: c.bits.recursionDesired,
    edns: c.bits.edns ? { udpSize: 1232, do: c.bits.dnssecOk } : false,
  };
}

/** Alternates the case of every letter, as a resolver doing 0x20 randomisation might. */
function mixCase(name: string): string {
  let upper = true;
  return name.replace(/[a-z]/gi, (ch) => ((upper = !upper) ? ch.toLowerCase() : ch.toUpperCase()));
}

let topo: Topology;
let bind: BindServer;
let bpf: SantaNative;
let santa: LoadedObject | undefined;
let pass: LoadedObject | undefined;
let maps: SantaMaps;
let workDir: string;
type Family = 4 | 6;
const FAMILIES: Family[] = [4, 6];
const FAMILY_CASES: Array<[string, Family]> = [
  ['IPv4', 4],
  ['IPv6', 6],
];
/** BIND's own reply to each cached case, per address family, fetched over TCP before anything
 * is attached. Entries are per family too: BIND orders glue by the client's family, so the key
 * says which family a query came over (SANTA_KEY_V6). */
const bindReplies = new Map<string, DnsAnswer>();
const replyOf = (c: CachedCase, f: Family) => bindReplies.get(`${c.label}/${f}`)!;
const slotOf = (c: CachedCase, f: Family) => c.slot * 2 + (f === 6 ? 1 : 0);
const serverOf = (f: Family) => (f === 4 ? topo.server.v4 : topo.server.v6);
const clientOf = (f: Family) => (f === 4 ? topo.client.v4 : topo.client.v6);
let sentinels = 0;

beforeAll(async () => {
  requireRoot('XDP end-to-end test');
  requireTools('XDP end-to-end test', ['named', 'dig', 'kdig', 'tcpdump', 'clang']);
  if (!existsSync(SANTA_OBJECT)) throw new Error(`${SANTA_OBJECT} is missing: build it with \`make -C xdp\``);
  workDir = mkdtempSync(join(tmpdir(), 'santa-e2e-'));
  bpf = loadNative();
  topo = await createTopology();
  bind = await startBind({
    netns: topo.server.ns,
    addresses: [topo.server.v4, topo.server.v6],
    zones: [{ name: 'example.test', file: ZONE_FILE }],
    directory: ZONES_DIR,
    queryLog: true,
  });

  const passObject = join(workDir, 'xdp_pass.bpf.o');
  await run(['clang', '-O2', '-g', '-target', 'bpf', '-Wall', '-Werror', `-I/usr/include/${machine()}-linux-gnu`, '-c', PASS_SOURCE, '-o', passObject]);
  pass = bpf.loadObject(passObject);
  santa = bpf.loadObject(SANTA_OBJECT);
  maps = SantaMaps.fromLoadedObject(santa, bpf);
  maps.writeSettings({ mode: 'on', maxUdpSize: 0, ports: [], v4Addrs: [topo.server.v4], v6Addrs: [topo.server.v6] });

  const all = [...CACHED, ...BUILT];
  for (const f of FAMILIES) {
    const answers = await queryMany(
      all.map((c) => spec(c)),
      { server: serverOf(f), transport: 'tcp', netns: topo.client.ns },
    );
    all.forEach((c, i) => {
      const a = answers[i];
      if (!a.answer) throw new Error(`BIND did not answer ${c.label} over TCP/IPv${f}: ${a.error}`);
      expect(a.answer.rcode).toBe('NOERROR');
      bindReplies.set(`${c.label}/${f}`, a.answer);
    });
  }
  const zone = parseZoneFile(ZONE_FILE, 'example.test', { includeBase: ZONES_DIR });
  const lease = maps.leaseJiffies(process.hrtime.bigint() + LEASE_NS);
  const entry = (c: CachedCase, f: Family, reply: Buffer) =>
    cacheEntry({
      question: { name: c.name, type: c.type },
      reply,
      slot: slotOf(c, f),
      expiresJiffies: lease,
      keyFlags: keyFlags({ ...c.bits, ipv6: f === 6 }),
    });
  const entries = FAMILIES.flatMap((f) => [
    ...CACHED.map((c) => entry(c, f, replyOf(c, f).raw)),
    ...BUILT.map((c) => {
      const built = buildResponse(
        zone,
        { name: c.name, type: c.type },
        { rd: c.bits.recursionDesired, edns: c.bits.edns, do: c.bits.dnssecOk, udpSize: 1232, family: f },
        { minimalResponses: 'no-auth-recursive', ednsUdpSize: 1232 },
      );
      if (!built.cacheable) throw new Error(`the response builder refuses ${c.label}: ${built.reason}`);
      return entry(c, f, built.wire);
    }),
  ]);
  maps.zeroSlots(FAMILIES.flatMap((f) => all.map((c) => slotOf(c, f))));
  expect(maps.install(entries)).toBe(2 * all.length);
});

afterAll(async () => {
  // Each step on its own, so one failure does not leave the rest behind.
  const steps: Array<() => unknown> = [
    () => santa && bpf.closeObject(santa.id),
    () => pass && bpf.closeObject(pass.id),
    () => bind?.stop(),
    () => topo?.destroy(),
    () => workDir && rmSync(workDir, { recursive: true, force: true }),
  ];
  for (const step of steps) {
    try {
      await step();
    } catch (e) {
      console.error(`cleanup step failed: ${(e as Error).message}`);
    }
  }
});

/** Asks an uncached sentinel name and waits until BIND has logged it: the log is then complete
 * up to this point. Returns the log text written since `offset`. */
async function queryLogSince(offset: number): Promise<string> {
  const sentinel = `sentinel-${++sentinels}.example.test`;
  await query({ name: sentinel, type: 'A' }, { server: topo.server.v4, netns: topo.client.ns });
  return waitFor(
    `BIND to log ${sentinel}`,
    () => {
      const text = bind.queryLog().slice(offset);
      return text.includes(`(${sentinel})`) ? text : undefined;
    },
    { timeoutMs: 5_000, describe: () => bind.queryLog().slice(offset) },
  );
}

function loggedQueriesFor(logText: string, name: string): string[] {
  return logText.split('\n').filter((l) => l.toLowerCase().includes(`query: ${name.toLowerCase()} `));
}

async function startCapture(file: string): Promise<Background> {
  const tcpdump = topo.spawn(topo.client, ['tcpdump', '-i', topo.client.ifname, '--immediate-mode', '-U', '-n', '-Z', 'root', '-w', file, 'udp and src port 53']);
  await waitFor('tcpdump to listen', () => (/listening on/.test(tcpdump.output()) ? true : undefined), {
    timeoutMs: 10_000,
    describe: () => tcpdump.output(),
  });
  return tcpdump;
}

describe.each<XdpMode>(['generic', 'native'])('XDP in %s mode', (mode) => {
  beforeAll(() => {
    if (!santa || !pass) throw new Error('the XDP objects were not loaded: see the first failure above');
    if (mode === 'native') bpf.attachXdp(pass!.progs.santa_test_pass, topo.client.ifname, 'native', topo.client.nsPath);
    bpf.attachXdp(santa!.progs.santa_xdp, topo.server.ifname, mode, topo.server.nsPath);
    const attached = bpf.queryXdp(topo.server.ifname, topo.server.nsPath);
    expect(attached?.mode).toBe(mode);
  });

  afterAll(() => {
    for (const [end, m] of [
      [topo.server, mode],
      [topo.client, 'native'],
    ] as const) {
      try {
        if (bpf.queryXdp(end.ifname, end.nsPath)) bpf.detachXdp(end.ifname, m, end.nsPath);
      } catch (e) {
        console.error(`detaching XDP from ${end.ifname}: ${(e as Error).message}`);
      }
    }
  });

  it.each(FAMILY_CASES)('answers cached questions from XDP over %s, with the query\'s 0x20 case, ID and RD', async (familyName, f) => {
    const logOffset = bind.queryLog().length;
    const statsBefore = maps.readStats();
    const slots = CACHED.map((c) => slotOf(c, f));
    const hitsBefore = maps.readHits(slots);
    const csumErrorsBefore = await checksumErrors();
    const pcapFile = join(workDir, `${mode}-${familyName}.pcap`);
    const tcpdump = await startCapture(pcapFile);

    const ids = CACHED.map((_, i) => 0x5a00 + i);
    const results = await queryMany(
      CACHED.map((c, i) => spec(c, mixCase(c.name), ids[i])),
      { server: serverOf(f), netns: topo.client.ns },
    );

    CACHED.forEach((c, i) => {
      const r = results[i];
      expect(r.error).toBeUndefined();
      const got = r.answer!;
      const fromBind = replyOf(c, f);
      const questionLength = got.query.length - 12 - (c.bits.edns ? 11 : 0);
      // ID from the query; flags, counts and every record exactly BIND's.
      expect(got.raw.readUInt16BE(0)).toBe(ids[i]);
      expect(got.raw.subarray(2, 12)).toEqual(fromBind.raw.subarray(2, 12));
      // The question exactly as asked, mixed case included.
      expect(got.raw.subarray(12, 12 + questionLength).toString('latin1')).toBe(got.query.subarray(12, 12 + questionLength).toString('latin1'));
      expect(got.raw.subarray(12 + questionLength)).toEqual(fromBind.raw.subarray(12 + questionLength));
      expect(got.packet.questions?.[0].name).toBe(mixCase(c.name));
      expect(got.packet.flag_rd).toBe(c.bits.recursionDesired);
    });

    expect(maps.readHits(slots)).toEqual(hitsBefore.map((h) => h + 1));
    const stats = maps.readStats();
    expect(stats.HITS - statsBefore.HITS).toBe(CACHED.length);

    const logged = await queryLogSince(logOffset);
    for (const c of CACHED) expect(loggedQueriesFor(logged, c.name)).toEqual([]);

    // Every reply was XDP's (BIND saw none of them): check each one's checksums ourselves.
    const captured = () => parsePcap(readFileSync(pcapFile)).filter((d) => ids.includes(d.payload.readUInt16BE(0)));
    await waitFor('tcpdump to write every reply', () => (captured().length >= CACHED.length ? true : undefined), {
      timeoutMs: 5_000,
      describe: () => tcpdump.output(),
    }).finally(() => tcpdump.stop());
    const replies = captured();
    expect(replies).toHaveLength(CACHED.length);
    for (const d of replies) {
      expect({ id: d.payload.readUInt16BE(0), ip: d.ipChecksumOk, udp: d.udpChecksumOk }).toEqual({
        id: d.payload.readUInt16BE(0),
        ip: true,
        udp: true,
      });
      expect(d.src).toBe(serverOf(f));
      expect(d.dst).toBe(clientOf(f));
    }
    expect(await checksumErrors()).toEqual(csumErrorsBefore);
  });

  it.each(FAMILY_CASES)('serves replies the response builder made from the zone file, equivalent to BIND\'s, over %s', async (_name, f) => {
    const slots = BUILT.map((c) => slotOf(c, f));
    const hitsBefore = maps.readHits(slots);
    const results = await queryMany(
      BUILT.map((c) => spec(c, mixCase(c.name))),
      { server: serverOf(f), netns: topo.client.ns },
    );
    expect(maps.readHits(slots)).toEqual(hitsBefore.map((h) => h + 1));
    BUILT.forEach((c, i) => {
      expect(results[i].error).toBeUndefined();
      expect(comparable(results[i].answer!)).toEqual(comparable(replyOf(c, f)));
    });
  });

  it('serves dig and kdig, real clients, from XDP', async () => {
    const www = CACHED[0];
    const wwwAaaa = CACHED[1];
    const slots = FAMILIES.flatMap((f) => [slotOf(www, f), slotOf(wwwAaaa, f)]);
    const hitsBefore = maps.readHits(slots);
    const logOffset = bind.queryLog().length;

    for (const f of FAMILIES) {
      const dig = await topo.exec(topo.client, ['dig', `@${serverOf(f)}`, '+norec', '+nocookie', '+short', '+tries=1', '+time=2', 'WWW.example.TEST', 'A']);
      expect(dig.stdout.trim().split('\n')).toEqual(aData(replyOf(www, f)));
      const kdig = await topo.exec(topo.client, ['kdig', `@${serverOf(f)}`, '+short', '+retry=0', '+time=2', 'www.EXAMPLE.test', 'AAAA']);
      expect(kdig.stdout.trim().split('\n')).toEqual(aData(replyOf(wwwAaaa, f)));
    }

    expect(maps.readHits(slots)).toEqual(hitsBefore.map((h) => h + 1));
    const logged = await queryLogSince(logOffset);
    expect(loggedQueriesFor(logged, 'www.example.test')).toEqual([]);
  });

  it.each(FAMILY_CASES)('leaves uncached questions to BIND over %s', async (_name, f) => {
    const server = () => serverOf(f);
    const allSlots = FAMILIES.flatMap((g) => [...CACHED, ...BUILT].map((c) => slotOf(c, g)));
    const logOffset = bind.queryLog().length;
    const statsBefore = maps.readStats();
    const hitsBefore = maps.readHits(allSlots);
    const uncached = [
      // A name with no entry.
      spec({ name: 'mail.example.test', type: 'A', bits: DIG_BITS }),
      // A cached name and type, asked with query bits whose answer is not cached.
      spec({ name: 'www.example.test', type: 'A', bits: KDIG_BITS }),
    ];
    const results = await queryMany(uncached, { server: server(), netns: topo.client.ns });
    expect(results.map((r) => r.error)).toEqual([undefined, undefined]);

    const stats = maps.readStats();
    expect(stats.HITS - statsBefore.HITS).toBe(0);
    expect(stats.PASS_MISS - statsBefore.PASS_MISS).toBe(uncached.length);
    expect(maps.readHits(allSlots)).toEqual(hitsBefore);

    const logged = await queryLogSince(logOffset);
    expect(loggedQueriesFor(logged, 'mail.example.test')).toHaveLength(1);
    const www = loggedQueriesFor(logged, 'www.example.test');
    expect(www).toHaveLength(1);
    expect(www[0]).toMatch(/ IN A \+ \(/); // RD set, no EDNS: the variant that is not cached
    expect(www[0]).toContain(`(${server()})`);

    // The answers are BIND's: the same as it gives over TCP, which XDP never touches.
    const direct = await queryMany(uncached, { server: server(), transport: 'tcp', netns: topo.client.ns });
    results.forEach((r, i) => expect(comparable(r.answer!)).toEqual(comparable(direct[i].answer!)));
  });
});

/**
 * What must agree between two answers to the same question: header flags and rcode, and each
 * section as a multiset of records (BIND rotates RRsets from one answer to the next). Names are
 * compared case-insensitively, as DNS does: XDP replies echo the query's 0x20 case.
 */
function comparable(a: DnsAnswer): { flags: string; sections: string[][] } {
  const norm = (rrs: dnsPacket.Answer[] | undefined) => (rrs ?? []).map((r) => JSON.stringify(r).toLowerCase()).sort();
  return {
    flags: a.raw.readUInt16BE(2).toString(16),
    sections: [norm(a.packet.answers), norm(a.packet.authorities), norm(a.packet.additionals)],
  };
}

function aData(a: DnsAnswer): string[] {
  return (a.packet.answers ?? []).map((r) => String((r as { data?: unknown }).data));
}

async function checksumErrors(): Promise<{ v4: number; v6: number }> {
  return {
    v4: await snmpCounter(topo.client.ns, 'Udp', 'InCsumErrors'),
    v6: await snmpCounter(topo.client.ns, 'Udp6', 'InCsumErrors', true),
  };
}
