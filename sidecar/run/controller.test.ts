/**
 * The controller's decisions with real parts (zone parser, builder, ranking, codec) and an
 * in-memory stand-in for the kernel maps; the real maps are exercised by test/run/*.e2e.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { santaAbi } from '../bpf/abi';
import { cacheKey, decodeCacheKey, decodeCacheValue, type CacheKey } from '../bpf/codec';
import { interpretNamedConf } from '../named-conf/read';
import { buildResponse } from '../response/build';
import { HotSetRanking } from '../ranking/hot-set-ranking';
import { KEY_DO, KEY_EDNS, KEY_RD, type QuestionKey } from '../ranking/question-key';
import { CacheController, leftoverFromMap, type AskBind, type CacheMaps, type LeftoverEntry } from './controller';
import { ZoneRegistry } from './zone-registry';

const abi = santaAbi();

class MemoryMaps implements CacheMaps {
  readonly entries = new Map<string, Buffer>();
  readonly hits = new Map<number, number>();
  readonly zeroed: number[] = [];
  writes = 0;
  install(entries: readonly (CacheKey & { value: Buffer })[]): number {
    for (const e of entries) this.entries.set(e.key.toString('hex'), Buffer.from(e.value));
    this.writes += entries.length;
    return entries.length;
  }
  remove(keys: readonly CacheKey[]): number {
    return keys.filter((k) => this.entries.delete(k.key.toString('hex'))).length;
  }
  readHits(slots: readonly number[]): number[] {
    return slots.map((s) => this.hits.get(s) ?? 0);
  }
  zeroSlots(slots: readonly number[]): void {
    for (const s of slots) this.hits.set(s, 0);
    this.zeroed.push(...slots);
  }
  /** A 250 Hz kernel whose jiffies started with the monotonic clock. */
  leaseJiffies(ns: bigint): bigint {
    return ns / 4_000_000n;
  }
  values() {
    return [...this.entries.values()].map((v) => decodeCacheValue(v));
  }
}

const ZONE = `$TTL 300
@ IN SOA ns1 hostmaster 7 3600 600 86400 300
@ IN NS ns1
ns1 IN A 192.0.2.53
www IN A 192.0.2.1
big IN TXT "${'x'.repeat(200)}"
`;

describe('CacheController', () => {
  let dir: string;
  let registry: ZoneRegistry;
  let clockMs = 1_000_000;
  let monoNs = 5_000_000_000n;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'santa-controller-'));
    writeFileSync(join(dir, 'db.test'), ZONE);
    const conf = interpretNamedConf(`options { directory "${dir}"; recursion no; }; zone "example.test" { type primary; file "db.test"; };`, join(dir, 'named.conf'), () => '');
    registry = new ZoneRegistry(conf);
    registry.reparse('example.test');
    registry.apply('example.test', { kind: 'bind-serial', serial: 7 });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const q = (name: string, qtype = 1): QuestionKey => ({ name, qtype, qclass: 1, flags: KEY_RD | KEY_EDNS });

  function controller(maps: MemoryMaps, ranking: HotSetRanking, askBind: AskBind | null, capacity = { entries: 100, bytes: 1 << 20 }, zoneStamp?: (zone: string) => { slot: number; gen: number }, verifyBudget?: number) {
    return new CacheController({
      registry,
      ranking,
      maps,
      abi,
      server: { minimalResponses: 'no-auth-recursive', ednsUdpSize: 1232 },
      capacity,
      slots: 16,
      leaseMs: 30_000,
      askBind,
      nowMs: () => clockMs,
      monotonicNs: () => monoNs,
      verifyRetryMs: 10_000,
      recheckMs: 60_000,
      verifyBudget,
      zoneStamp,
    });
  }

  it('installs a hot question with its lease, and renews it only once half the lease is gone', async () => {
    const maps = new MemoryMaps();
    const ranking = new HotSetRanking({ capacity: 64 });
    ranking.observe(q('www.example.test'), 5);
    const c = controller(maps, ranking, null);
    const first = await c.tick();
    expect(first.added).toBe(1);
    expect(maps.values()[0].expiresJiffies).toBe((monoNs + 30_000_000_000n) / 4_000_000n);
    const writes = maps.writes;
    monoNs += 10_000_000_000n; // a third of the lease
    expect((await c.tick()).renewed).toBe(0);
    expect(maps.writes).toBe(writes);
    monoNs += 6_000_000_000n; // past half
    expect((await c.tick()).renewed).toBe(1);
    expect(maps.values()[0].expiresJiffies).toBe((monoNs + 30_000_000_000n) / 4_000_000n);
  });

  it('installs only answers BIND gives identically, and asks again after the retry interval', async () => {
    const maps = new MemoryMaps();
    const ranking = new HotSetRanking({ capacity: 64 });
    ranking.observe(q('www.example.test'), 5);
    let bindAgrees = false;
    const asked: string[] = [];
    const ask: AskBind = async (key) => {
      asked.push(key.name);
      // Stands in for BIND: the same answer when it agrees, another address when it does not.
      const built = buildResponse(registry.get('example.test')!.model!, { name: key.name, type: key.qtype }, { rd: true, edns: true, do: false }, { minimalResponses: 'no-auth-recursive', ednsUdpSize: 1232 });
      if (!built.cacheable) throw new Error(built.reason);
      const reply = Buffer.from(built.wire);
      if (!bindAgrees) reply[reply.indexOf(Buffer.from([192, 0, 2, 1]))+ 3] = 2;
      return reply;
    };
    const c = controller(maps, ranking, ask);
    const r1 = await c.tick();
    expect(r1.verifyFailures).toBe(1);
    expect(maps.entries.size).toBe(0);
    expect(c.lastVerifyFailure?.mismatches.join(' ')).toMatch(/answer/);
    bindAgrees = true;
    await c.tick();
    expect(asked).toHaveLength(1); // not asked again before the retry interval
    expect(maps.entries.size).toBe(0);
    clockMs += 10_000;
    const r3 = await c.tick();
    expect(r3.verified).toBe(1);
    expect(maps.entries.size).toBe(1);
  });

  /** Stands in for BIND: the built answer, or with `differs`, the same answer with another
   * address (BIND serving other data for the name: a zone added under it, say); throws while
   * `silent`. Records every question asked. */
  function fakeBind() {
    const state = { differs: false, silent: false, asked: [] as string[] };
    const ask: AskBind = async (key) => {
      state.asked.push(key.name);
      if (state.silent) throw new Error('timed out');
      const built = buildResponse(registry.get('example.test')!.model!, { name: key.name, type: key.qtype }, { rd: true, edns: true, do: false }, { minimalResponses: 'no-auth-recursive', ednsUdpSize: 1232 });
      if (!built.cacheable) throw new Error(built.reason);
      const reply = Buffer.from(built.wire);
      const at = reply.indexOf(Buffer.from([192, 0, 2]));
      if (state.differs && at >= 0) reply[at + 3] ^= 0x80;
      return reply;
    };
    return { state, ask };
  }

  /** A controller with www.example.test hot, asking fakeBind(). */
  function hotWww(verifyBudget?: number) {
    const maps = new MemoryMaps();
    const ranking = new HotSetRanking({ capacity: 64 });
    ranking.observe(q('www.example.test'), 5);
    const bind = fakeBind();
    return { maps, ranking, bind, c: controller(maps, ranking, bind.ask, undefined, undefined, verifyBudget) };
  }

  it('asks BIND again once a verification has stood for the recheck interval, and withdraws an answer BIND no longer gives', async () => {
    const { maps, bind, c } = hotWww();
    await c.tick();
    expect(maps.entries.size).toBe(1);
    // Under 3/4 of the interval: never due.
    clockMs += 44_000;
    await c.tick();
    expect(bind.state.asked).toHaveLength(1);
    bind.state.differs = true;
    clockMs += 16_000; // a full interval
    const r = await c.tick();
    expect(bind.state.asked).toHaveLength(2);
    expect(r).toMatchObject({ verified: 1, verifyFailures: 1, removed: 1 });
    expect(maps.entries.size).toBe(0);
    expect(c.totals.recheckWithdrawals).toBe(1);
    expect(c.lastVerifyFailure?.question).toMatch(/www.example.test A/);
    // Not installed again while BIND gives the other answer; back once it gives this one.
    clockMs += 10_000;
    await c.tick();
    expect(maps.entries.size).toBe(0);
    bind.state.differs = false;
    clockMs += 10_000;
    await c.tick();
    expect(maps.entries.size).toBe(1);
  });

  it('keeps an answer in service while BIND cannot be asked (its load must not grow), and asks again next tick', async () => {
    const { maps, bind, c } = hotWww();
    await c.tick();
    bind.state.silent = true;
    clockMs += 60_000;
    expect(await c.tick()).toMatchObject({ verified: 1, verifyFailures: 0, removed: 0 });
    expect(maps.entries.size).toBe(1);
    bind.state.silent = false;
    bind.state.differs = true;
    await c.tick();
    expect(bind.state.asked).toHaveLength(3);
    expect(maps.entries.size).toBe(0);
  });

  it('recheckAll makes every verification due: answers in service stay until their turn in the budget, withdrawn ones wait for theirs', async () => {
    const { maps, ranking, bind, c } = hotWww(1);
    ranking.observe(q('ns1.example.test'), 4);
    await c.tick();
    await c.tick();
    expect(maps.entries.size).toBe(2);
    expect(bind.state.asked).toHaveLength(2);
    // The zone set changed under named: one zone's answers withdrawn, everything due now.
    expect(c.withdrawZone('example.test')).toBe(2);
    c.recheckAll();
    bind.state.differs = true;
    await c.tick(); // one recheck per tick: it fails, and the other answer may not come back unchecked
    expect(maps.entries.size).toBe(0);
    bind.state.differs = false;
    await c.tick();
    expect(maps.entries.size).toBe(1);
    expect(bind.state.asked).toHaveLength(4);
  });

  it('asks BIND again for a withdrawn zone\'s answers before they return, though their bytes are the same', async () => {
    const { maps, bind, c } = hotWww();
    await c.tick();
    // BIND stopped answering for the zone a moment (a poll failed), and came back serving other data.
    c.withdrawZone('example.test');
    bind.state.differs = true;
    await c.tick();
    expect(bind.state.asked).toHaveLength(2);
    expect(maps.entries.size).toBe(0);
  });

  it('spreads the rechecks of answers verified together over the last quarter of the interval', async () => {
    const maps = new MemoryMaps();
    const ranking = new HotSetRanking({ capacity: 64 });
    for (let i = 0; i < 16; i++) ranking.observe(q(`n${i}.example.test`), 5);
    const bind = fakeBind();
    const c = controller(maps, ranking, bind.ask);
    await c.tick();
    expect(maps.entries.size).toBe(16);
    const dueBy: number[] = [];
    for (const step of [44_000, 5_000, 5_000, 6_000]) {
      clockMs += step; // 44 s, then 49, 54 and 60
      const before = bind.state.asked.length;
      await c.tick();
      dueBy.push(bind.state.asked.length - before);
    }
    // None before 3/4 of the interval, all by its end, never all in one tick.
    expect(dueBy[0]).toBe(0);
    expect(dueBy.reduce((a, b) => a + b, 0)).toBe(16);
    expect(Math.max(...dueBy)).toBeLessThan(12);
  });

  it('forgets builds and verifications of questions that left the ranking, keeping memory bounded', async () => {
    const maps = new MemoryMaps();
    const ranking = new HotSetRanking({ capacity: 32, halfLifeMs: 1000, startMs: clockMs });
    const ask: AskBind = async (key) => {
      const built = buildResponse(registry.get('example.test')!.model!, { name: key.name, type: key.qtype }, { rd: true, edns: true, do: false }, { minimalResponses: 'no-auth-recursive', ednsUdpSize: 1232 });
      if (!built.cacheable) throw new Error(built.reason);
      return Buffer.from(built.wire);
    };
    const c = controller(maps, ranking, ask, { entries: 8, bytes: 1 << 20 });
    let peak = 0;
    // 200 rounds, each with 40 questions never asked before (NXDOMAIN answers, all buildable):
    // 8,000 distinct questions pass through a ranking of 32.
    for (let round = 0; round < 200; round++) {
      clockMs += 1000;
      ranking.advanceTo(clockMs);
      for (let i = 0; i < 40; i++) ranking.observe(q(`n${round}-${i}.example.test`), 10);
      await c.tick();
      const m = c.memoSizes();
      peak = Math.max(peak, m.built, m.verified, m.failed);
    }
    expect(c.totals.verifyChecks).toBeGreaterThan(1024); // the memos had to be pruned to stay small
    expect(peak).toBeLessThanOrEqual(2 * (32 + 8) + 1024 + 40);
  });

  it('withdraws a zone at once and hands a freed slot out zeroed', async () => {
    const maps = new MemoryMaps();
    const ranking = new HotSetRanking({ capacity: 64 });
    ranking.observe(q('www.example.test'), 5);
    const c = controller(maps, ranking, null);
    await c.tick();
    const slot = maps.values()[0].slot;
    maps.hits.set(slot, 42);
    expect(c.withdrawZone('example.test')).toBe(1);
    expect(maps.entries.size).toBe(0);
    ranking.observe(q('ns1.example.test'), 50);
    await c.tick(); // the zone is still offloaded, so both come back; one takes the freed slot
    expect(maps.zeroed).toContain(slot);
    expect(maps.hits.get(slot)).toBe(0);
  });

  it('stamps entries with their zone\'s generation as it stood before BIND was asked', async () => {
    const maps = new MemoryMaps();
    const ranking = new HotSetRanking({ capacity: 64 });
    ranking.observe(q('www.example.test'), 5);
    let gen = 4;
    const stamps: string[] = [];
    const ask: AskBind = async (key) => {
      gen++; // the zone's change is acknowledged while BIND is being asked
      const built = buildResponse(registry.get('example.test')!.model!, { name: key.name, type: key.qtype }, { rd: true, edns: true, do: false }, { minimalResponses: 'no-auth-recursive', ednsUdpSize: 1232 });
      if (!built.cacheable) throw new Error(built.reason);
      return Buffer.from(built.wire);
    };
    const c = controller(maps, ranking, ask, undefined, (zone) => {
      stamps.push(zone);
      return { slot: 9, gen };
    });
    await c.tick();
    expect(stamps).toEqual(['example.test']);
    expect(maps.values().map((v) => [v.zoneSlot, v.zoneGen])).toEqual([[9, 4]]);
  });

  it('feeds the program\'s hit deltas back into the ranking', async () => {
    const maps = new MemoryMaps();
    const ranking = new HotSetRanking({ capacity: 64 });
    ranking.observe(q('www.example.test'), 1);
    const c = controller(maps, ranking, null);
    await c.tick();
    maps.hits.set(maps.values()[0].slot, 1000);
    await c.tick();
    expect(ranking.estimate(q('www.example.test'))?.count).toBe(1001);
    await c.tick(); // no new hits: no double counting
    expect(ranking.estimate(q('www.example.test'))?.count).toBe(1001);
  });

  it('takes over entries an earlier run left: withdrawn with their zone, else rebuilt in place', async () => {
    const maps = new MemoryMaps();
    const before = new HotSetRanking({ capacity: 64 });
    before.observe(q('www.example.test'), 5);
    await controller(maps, before, null).tick();
    const leftovers = (): LeftoverEntry[] =>
      [...maps.entries].map(([hex, value]) => leftoverFromMap({ key: decodeCacheKey(Buffer.from(hex, 'hex'), abi), value: decodeCacheValue(value, abi) }, abi)!);
    const [www] = leftovers();
    expect(www.key).toEqual(q('www.example.test'));
    // An entry of a zone this run does not serve (named.conf changed): deleted at once.
    const stray = { key: q('www.elsewhere.test'), slot: www.slot + 1, cacheKey: cacheKey({ name: 'www.elsewhere.test', type: 1 }, KEY_RD | KEY_EDNS, abi) };
    maps.install([{ ...stray.cacheKey, value: Buffer.alloc(1) }]);

    // A restart: a new controller with an empty ranking finds the entry still in the map.
    const restarted = controller(maps, new HotSetRanking({ capacity: 64 }), null);
    expect(restarted.adopt([www, stray])).toEqual({ adopted: 1, removed: 1 });
    expect(restarted.withdrawZone('example.test')).toBe(1);
    expect(maps.entries.size).toBe(0);

    await controller(maps, before, null).tick();
    const slot = maps.values()[0].slot;
    const again = controller(maps, new HotSetRanking({ capacity: 64 }), null);
    again.adopt(leftovers());
    monoNs += 1_000_000_000n;
    const r = await again.tick();
    expect(r).toMatchObject({ added: 0, changed: 1, removed: 0 });
    expect(maps.values()).toEqual([expect.objectContaining({ slot, expiresJiffies: (monoNs + 30_000_000_000n) / 4_000_000n })]);
  });

  it('keeps within capacity and skips what the builder refuses, saying why', async () => {
    const maps = new MemoryMaps();
    const ranking = new HotSetRanking({ capacity: 64 });
    ranking.observe(q('example.test', 255), 9); // ANY
    ranking.observe(q('www.elsewhere.test'), 8);
    ranking.observe(q('www.example.test'), 7);
    ranking.observe(q('ns1.example.test'), 6);
    const c = controller(maps, ranking, null, { entries: 1, bytes: 1 << 20 });
    const r = await c.tick();
    expect(r.added).toBe(1);
    expect(maps.entries.size).toBe(1);
    expect([...r.refused.keys()].join(' | ')).toMatch(/no offloaded zone/);
    expect([...r.refused.keys()].join(' | ')).toMatch(/ANY/);
  });

  it.each([
    ['only its file changes', '', false],
    ['is dynamic', ' update-policy local;', true],
  ])('for a zone named signs that %s, builds only what signing cannot change, and verifies again when named moves its serial: %s', async (_what, update, reverified) => {
    const conf = interpretNamedConf(`options { directory "${dir}"; recursion no; }; zone "example.test" { type primary; file "db.test"; dnssec-policy default; inline-signing yes;${update} };`, join(dir, 'named.conf'), () => '');
    registry = new ZoneRegistry(conf);
    registry.reparse('example.test');
    // named's serial for the signed copy, not the file's 7.
    registry.apply('example.test', { kind: 'bind-serial', serial: 12 });
    expect(registry.get('example.test')!.state.status).toBe('offloaded');
    const maps = new MemoryMaps();
    const ranking = new HotSetRanking({ capacity: 64 });
    ranking.observe(q('www.example.test'), 5);
    ranking.observe({ ...q('www.example.test'), flags: KEY_RD | KEY_EDNS | KEY_DO }, 5);
    ranking.observe(q('nothere.example.test'), 5);
    const asked: string[] = [];
    const ask: AskBind = async (key) => {
      asked.push(key.name);
      const built = buildResponse(registry.get('example.test')!.model!, { name: key.name, type: key.qtype }, { rd: true, edns: true, do: false }, { minimalResponses: 'no-auth-recursive', ednsUdpSize: 1232 });
      if (!built.cacheable) throw new Error(built.reason);
      return built.wire;
    };
    const c = controller(maps, ranking, ask);
    const first = await c.tick();
    expect([...first.refused.keys()].sort()).toEqual(["named signs this zone: a DO=1 answer carries its signatures", "named signs this zone: the answer carries the SOA, whose serial named's signer sets"]);
    expect(first.added).toBe(1);
    expect(asked).toEqual(['www.example.test']);
    await c.tick();
    expect(asked).toHaveLength(1); // the same serial: verified once

    // A re-sign moves the serial. A dynamic zone is withdrawn, re-read and asked again; the other
    // keeps its entry as it is.
    const moved = registry.apply('example.test', { kind: 'bind-serial', serial: 13 });
    expect(moved.actions).toEqual({ withdraw: reverified, reparse: reverified });
    if (reverified) {
      expect(c.withdrawZone('example.test')).toBe(1);
      registry.reparse('example.test');
    }
    const after = await c.tick();
    expect(after.added).toBe(reverified ? 1 : 0);
    expect(maps.entries.size).toBe(1);
    expect(asked).toEqual(reverified ? ['www.example.test', 'www.example.test'] : ['www.example.test']);
  });
});
