/**
 * The cache controller: one tick turns the ranking into installed entries.
 *
 *   hit counters -> ranking -> hot questions -> build (per zone serial) -> capacity
 *   -> verify new or changed answers against BIND -> diff -> batch apply + lease renewal
 *
 * Zone withdrawals do not wait for a tick: withdrawZone() deletes a zone's entries at once.
 * A verification does not stand for ever: BIND can come to answer a question differently with
 * no zone file or serial moving (a zone added or deleted with rndc addzone/delzone, a catalog
 * zone's members, named restarted with another configuration), so each installed answer is asked
 * again every recheckMs, and withdrawn when BIND's answer is no longer the same.
 */
import { createHash } from 'node:crypto';
import { cacheEntry, cacheKey, CacheEncodeError, hostOrder, writeZoneStamp, type CacheKey, type DecodedKey, type ZoneStamp } from '../bpf/codec';
import { wireToName } from '../bpf/dns-wire';
import type { SantaAbi } from '../bpf/abi';
import { diffEntries, selectWithinCapacity, type Capacity, type PlannedEntry } from '../cache/plan';
import { SlotAllocator } from '../cache/slots';
import type { HotSetRanking } from '../ranking/hot-set-ranking';
import { dnsLowerCase, KEY_DO, KEY_EDNS, KEY_RD, KEY_V6, questionKeyId, type QuestionKey } from '../ranking/question-key';
import type { ServerOptions } from '../response/build';
import { builderFor } from '../response/named-signed';
import { verifyResponse } from '../response/verify';
import { typeName } from '../zone/types';
import { soaSerialOf, type RegisteredZone, type ZoneRegistry } from './zone-registry';

/** The map operations the controller needs (SantaMaps implements them). */
export interface CacheMaps {
  install(entries: readonly (CacheKey & { value: Buffer })[]): number;
  remove(keys: readonly CacheKey[]): number;
  readHits(slots: readonly number[]): number[];
  zeroSlots(slots: readonly number[]): void;
  /** The lease end entries hold for monotonic time `ns` (jiffies). */
  leaseJiffies(ns: bigint): bigint;
}

/** Asks BIND itself (never the XDP cache: over TCP) the same question with the same bits. */
export type AskBind = (key: QuestionKey) => Promise<Buffer>;

export interface ControllerOptions {
  registry: ZoneRegistry;
  ranking: HotSetRanking;
  maps: CacheMaps;
  abi: SantaAbi;
  server: ServerOptions;
  capacity: Capacity;
  /** Hit-counter slots (max_entries of santa_hits). */
  slots: number;
  leaseMs: number;
  /** null: install without asking BIND (tests of the program only; never in production). */
  askBind: AskBind | null;
  /** CLOCK_MONOTONIC in ns, the clock bpf_ktime_get_ns() reads. */
  monotonicNs?: () => bigint;
  nowMs?: () => number;
  /** A failed verification is retried after this long (BIND may not have reloaded yet). */
  verifyRetryMs?: number;
  /** Most verifications per tick, so one tick stays short after a big change. */
  verifyBudget?: number;
  /** How long a verification stands: an installed answer is asked of BIND again after between
   * 3/4 of this and all of it (spread by digest, so a cache verified at once is not re-asked at
   * once), within verifyBudget; default 60 s. */
  recheckMs?: number;
  /** The zone change guard's stamp for a zone's entries (ZoneChangeWatch.stamp); absent: slot 0,
   * generation 0 (tests of the program only). */
  zoneStamp?: (zone: string) => ZoneStamp;
}

interface Candidate extends PlannedEntry {
  key: QuestionKey;
  zone: string;
  /** The zone data it was built from (zoneVersion): it may be installed only while that is served. */
  version: string;
  entry: CacheKey & { value: Buffer };
  wire: Buffer;
  /** What BIND must answer over TCP for the entry to be installed: `wire`, or its untrimmed form. */
  verifyWire: Buffer;
}

interface InstalledEntry {
  id: string;
  key: QuestionKey;
  zone: string;
  digest: string;
  bytes: number;
  slot: number;
  cacheKey: CacheKey;
  value: Buffer;
  /** Hit counter value already fed to the ranking. */
  hitsSeen: number;
  /** Lease end as last written to the map. */
  expiresNs: bigint;
}

export interface TickReport {
  ranked: number;
  candidates: number;
  refused: Map<string, number>;
  verified: number;
  verifyFailures: number;
  added: number;
  changed: number;
  removed: number;
  renewed: number;
  durationMs: number;
}

export interface ControllerTotals {
  verifyChecks: number;
  verifyFailures: number;
  /** Installed answers withdrawn because BIND answered a recheck differently. */
  recheckWithdrawals: number;
  installs: number;
  removals: number;
  renewals: number;
  withdrawals: number;
  ticks: number;
}

/** An entry found in the pinned maps at start-up, written by an earlier run of the sidecar. */
export interface LeftoverEntry {
  cacheKey: CacheKey;
  key: QuestionKey;
  slot: number;
}

/** The leftover for one decoded map entry, or undefined when its key cannot be re-encoded. */
export function leftoverFromMap(entry: { key: DecodedKey; value: { slot: number } }, abi: SantaAbi): LeftoverEntry | undefined {
  try {
    const k = entry.key;
    const name = wireToName(k.name);
    return {
      cacheKey: cacheKey({ name: k.name, type: k.qtype, class: k.qclass }, k.flags, abi),
      key: { name: dnsLowerCase(name === '.' ? name : name.slice(0, -1)), qtype: k.qtype, qclass: k.qclass, flags: k.flags },
      slot: entry.value.slot,
    };
  } catch {
    return undefined;
  }
}

export class CacheController {
  private readonly installed = new Map<string, InstalledEntry>();
  private slots: SlotAllocator;
  /** Built answers by question id, valid while the zone's version is the same. */
  private readonly built = new Map<string, { version: string; candidate: Candidate | null; reason?: string }>();
  /** Verified replies by digest (a digest names the exact reply bytes): when each is due to be
   * asked of BIND again (ms, nowMs clock). */
  private readonly verified = new Map<string, number>();
  private readonly failedAt = new Map<string, number>();
  readonly totals: ControllerTotals = { verifyChecks: 0, verifyFailures: 0, recheckWithdrawals: 0, installs: 0, removals: 0, renewals: 0, withdrawals: 0, ticks: 0 };
  lastVerifyFailure: { question: string; mismatches: string[] } | undefined;

  constructor(private readonly o: ControllerOptions) {
    this.slots = new SlotAllocator(o.slots);
  }

  private monoNs(): bigint {
    return (this.o.monotonicNs ?? process.hrtime.bigint)();
  }

  private nowMs(): number {
    return (this.o.nowMs ?? Date.now)();
  }

  /** Entries installed now, with their zone and bytes. */
  entries(): ReadonlyArray<Readonly<InstalledEntry>> {
    return [...this.installed.values()];
  }

  get installedBytes(): number {
    let bytes = 0;
    for (const e of this.installed.values()) bytes += e.bytes;
    return bytes;
  }

  /**
   * Takes over the entries an earlier run left in the pinned maps. The program serves them until
   * their leases end, so they must be withdrawn with their zone like this run's own, or a zone
   * edit right after a restart leaves the old answers in service. Each becomes an installed
   * entry whose reply is unknown: the next tick rebuilds and verifies it from the current zone
   * data (same key, same slot) or deletes it. Their hit counts seed the ranking, so the questions
   * that were hot before the restart stay cached. Entries of no registered zone, or whose slot
   * another entry also claims, are deleted at once. Call before the first tick.
   */
  adopt(leftovers: readonly LeftoverEntry[]): { adopted: number; removed: number } {
    if (this.installed.size > 0) throw new Error('adopt() must run before anything is installed');
    const keep: LeftoverEntry[] = [];
    const drop: CacheKey[] = [];
    const slotsTaken = new Set<number>();
    for (const l of leftovers) {
      const zone = this.o.registry.zoneFor(l.key.name);
      const slotOk = Number.isInteger(l.slot) && l.slot >= 0 && l.slot < this.o.slots && !slotsTaken.has(l.slot);
      if (!zone || !slotOk) {
        drop.push(l.cacheKey);
        continue;
      }
      slotsTaken.add(l.slot);
      keep.push(l);
    }
    if (drop.length) this.o.maps.remove(drop);
    this.slots = SlotAllocator.adopt(this.o.slots, slotsTaken);
    const hits = keep.length ? this.o.maps.readHits(keep.map((l) => l.slot)) : [];
    keep.forEach((l, i) => {
      const id = questionKeyId(l.key);
      const zone = this.o.registry.zoneFor(l.key.name)!.state.zone;
      // digest '' never equals a built reply's: the next tick rewrites or deletes the entry.
      this.installed.set(id, { id, key: l.key, zone, digest: '', bytes: 0, slot: l.slot, cacheKey: l.cacheKey, value: Buffer.alloc(0), hitsSeen: hits[i], expiresNs: 0n });
      this.o.ranking.addHits(l.key, Math.max(1, hits[i]));
    });
    return { adopted: keep.length, removed: drop.length };
  }

  /** Deletes every entry of `zone` from the maps now. Whatever withdrew it (an edit, a change
   * on its way to BIND, BIND not answering for it), its answers are asked of BIND again before
   * they return, even where their bytes have not changed. */
  withdrawZone(zone: string): number {
    const gone = [...this.installed.values()].filter((e) => e.zone === zone);
    this.removeEntries(gone);
    for (const e of gone) if (this.verified.has(e.digest)) this.verified.set(e.digest, -Infinity);
    for (const [id, b] of this.built) {
      if (b.candidate?.zone !== zone) continue;
      if (this.verified.has(b.candidate.digest)) this.verified.set(b.candidate.digest, -Infinity);
      this.built.delete(id);
    }
    this.totals.withdrawals += gone.length;
    return gone.length;
  }

  /** Makes every verification due now: each installed answer is asked of BIND again, within
   * the verify budget, from the next tick on (the zone set changed under named). */
  recheckAll(): void {
    for (const digest of this.verified.keys()) this.verified.set(digest, -Infinity);
  }

  /** Deletes everything (shutdown with purge, mode change). */
  withdrawAll(): number {
    const gone = [...this.installed.values()];
    this.removeEntries(gone);
    return gone.length;
  }

  async tick(): Promise<TickReport> {
    const started = this.nowMs();
    this.feedHits();
    this.o.ranking.advanceTo(started);
    // Walk the ranking until enough answers are buildable: questions Santa cannot answer
    // (other zones, ANY, too large) must not use up the cache's places.
    const ranked = this.o.ranking.top();
    const refused = new Map<string, number>();
    const candidates: Candidate[] = [];
    for (const r of ranked) {
      if (candidates.length >= this.o.capacity.entries) break;
      const c = this.candidateFor(r.id, r.key);
      if (typeof c === 'string') refused.set(c, (refused.get(c) ?? 0) + 1);
      else candidates.push(c);
    }
    const chosen = selectWithinCapacity(candidates, this.o.capacity);
    // Taken before BIND is asked: an entry must not carry a zone generation newer than the
    // answer it was verified with (see ZoneChangeWatch).
    const stamps = new Map<string, ZoneStamp>();
    if (this.o.zoneStamp) for (const c of chosen) if (!stamps.has(c.zone)) stamps.set(c.zone, this.o.zoneStamp(c.zone));
    const { accepted, checks, failures } = await this.verifyAll(chosen);
    // Zones may have been withdrawn while BIND was being asked: re-check before installing.
    const live = accepted.filter((c) => this.isServable(c.zone, c.version));
    const diff = diffEntries(this.installed, live);
    this.removeEntries(diff.remove.map((id) => this.installed.get(id) as InstalledEntry));
    const expires = this.monoNs() + BigInt(this.o.leaseMs) * 1_000_000n;
    const writes: InstalledEntry[] = [];
    const fresh: number[] = [];
    for (const c of diff.add) {
      const slot = this.slots.allocate();
      fresh.push(slot);
      writes.push(this.entryFrom(c, slot, 0, stamps.get(c.zone)));
    }
    for (const c of diff.change) {
      const old = this.installed.get(c.id) as InstalledEntry;
      writes.push(this.entryFrom(c, old.slot, old.hitsSeen, stamps.get(c.zone)));
    }
    // Unchanged entries are rewritten only once half their lease is gone: renewal is the
    // steady-state cost, and a lease of several rounds leaves room for a late round.
    const renewBefore = expires - (BigInt(this.o.leaseMs) * 1_000_000n) / 2n;
    let renewed = 0;
    for (const c of diff.keep) {
      const e = this.installed.get(c.id) as InstalledEntry;
      if (e.expiresNs > renewBefore) continue;
      writes.push(e);
      renewed++;
    }
    // A reused slot must not carry the counts of the question that had it before.
    if (fresh.length) this.o.maps.zeroSlots(fresh);
    const expiresJiffies = this.o.maps.leaseJiffies(expires);
    for (const e of writes) {
      hostOrder.writeU64(e.value, this.o.abi.value.expiresJiffies, expiresJiffies);
      e.expiresNs = expires;
      this.installed.set(e.id, e);
    }
    if (writes.length) this.o.maps.install(writes.map((e) => ({ ...e.cacheKey, value: e.value })));
    this.totals.installs += diff.add.length + diff.change.length;
    this.totals.renewals += renewed;
    this.totals.ticks++;
    this.forgetBeyond(ranked.map((r) => r.id));
    return {
      ranked: ranked.length,
      candidates: candidates.length,
      refused,
      verified: checks,
      verifyFailures: failures,
      added: diff.add.length,
      changed: diff.change.length,
      removed: diff.remove.length,
      renewed,
      durationMs: this.nowMs() - started,
    };
  }

  /** Sizes of what the controller remembers between ticks (bounded: see forgetBeyond). */
  memoSizes(): { built: number; verified: number; failed: number } {
    return { built: this.built.size, verified: this.verified.size, failed: this.failedAt.size };
  }

  /**
   * Builds and verification results are kept for the questions the ranking still lists or the
   * cache holds; the rest are dropped once the memos outgrow that working set by a margin, so a
   * long run over an ever-changing tail of questions (or zone edits, each a new digest) cannot
   * grow them without bound. A dropped question coming back is built and verified again.
   */
  private forgetBeyond(rankedIds: readonly string[]): void {
    const bound = 2 * (rankedIds.length + this.installed.size) + 1024;
    if (this.built.size <= bound && this.verified.size <= bound && this.failedAt.size <= bound) return;
    const keep = new Set(rankedIds);
    for (const id of this.built.keys()) if (!keep.has(id) && !this.installed.has(id)) this.built.delete(id);
    const digests = new Set<string>();
    for (const b of this.built.values()) if (b.candidate) digests.add(b.candidate.digest);
    for (const e of this.installed.values()) digests.add(e.digest);
    for (const d of this.verified.keys()) if (!digests.has(d)) this.verified.delete(d);
    for (const d of this.failedAt.keys()) if (!digests.has(d)) this.failedAt.delete(d);
  }

  /** Feeds the program's per-entry hit deltas to the ranking: cached questions never reach
   * BIND's log again, so without this they would look cold and be evicted. */
  private feedHits(): void {
    const entries = [...this.installed.values()];
    if (entries.length === 0) return;
    const counts = this.o.maps.readHits(entries.map((e) => e.slot));
    entries.forEach((e, i) => {
      const delta = counts[i] - e.hitsSeen;
      if (delta > 0) this.o.ranking.addHits(e.key, delta);
      e.hitsSeen = counts[i];
    });
  }

  private isServable(zone: string, version: string): boolean {
    const z = this.o.registry.get(zone);
    return z !== undefined && z.state.status === 'offloaded' && z.model !== undefined && zoneVersion(z) === version;
  }

  /** The prebuilt entry for a question, or the reason it cannot be cached. */
  private candidateFor(id: string, key: QuestionKey): Candidate | string {
    const zone = this.o.registry.zoneFor(key.name);
    if (!zone) return 'no offloaded zone';
    if (zone.state.status !== 'offloaded' || !zone.model) return `zone ${zone.state.status}`;
    const version = zoneVersion(zone);
    const memo = this.built.get(id);
    if (memo && memo.version === version) return memo.candidate ?? (memo.reason as string);
    const result = this.build(id, key, zone, version);
    this.built.set(id, typeof result === 'string' ? { version, candidate: null, reason: result } : { version, candidate: result });
    return result;
  }

  private build(id: string, key: QuestionKey, zone: RegisteredZone, version: string): Candidate | string {
    const model = zone.model;
    if (!model) return 'zone not parsed';
    const bits = {
      rd: (key.flags & KEY_RD) !== 0,
      edns: (key.flags & KEY_EDNS) !== 0,
      do: (key.flags & KEY_DO) !== 0,
      family: (key.flags & KEY_V6 ? 6 : 4) as 4 | 6,
    };
    const question = { name: key.name, type: key.qtype, class: key.qclass };
    // Built from the unsigned file of a zone named signs (state.signedByNamed), or from data as
    // BIND serves it (a zone file, or a transfer of the signed copy).
    const built = builderFor(zone.state.signedByNamed)(model, question, bits, this.o.server);
    if (!built.cacheable) return built.reason;
    try {
      const entry = cacheEntry({ question, keyFlags: key.flags, reply: built.wire, slot: 0, expiresJiffies: 0n }, this.o.abi);
      // A digest names what was verified. For a dynamic zone named signs, that includes the
      // serial BIND served: the same bytes must be checked again once it has moved.
      const hash = createHash('sha256').update(built.wire).update(String(key.flags));
      if (recheckedAtEverySerial(zone)) hash.update(`@${version}`);
      const digest = hash.digest('hex');
      return { id, key, zone: zone.state.zone, version, entry, wire: built.wire, verifyWire: built.complete ?? built.wire, digest, bytes: entry.value.length - this.o.abi.value.tail };
    } catch (e) {
      if (e instanceof CacheEncodeError) return e.message;
      throw e;
    }
  }

  private async verifyAll(chosen: Candidate[]): Promise<{ accepted: Candidate[]; checks: number; failures: number }> {
    const ask = this.o.askBind;
    if (!ask) return { accepted: chosen, checks: 0, failures: 0 };
    const retryMs = this.o.verifyRetryMs ?? 10_000;
    const now = this.nowMs();
    const serving = (c: Candidate) => this.installed.get(c.id)?.digest === c.digest;
    // Answers in service whose recheck is due go first: one BIND no longer gives is being sent.
    const rechecks = chosen.filter((c) => now >= (this.verified.get(c.digest) ?? Infinity));
    rechecks.sort((a, b) => Number(serving(b)) - Number(serving(a)));
    const unverified = chosen.filter((c) => {
      if (this.verified.has(c.digest)) return false;
      const failed = this.failedAt.get(c.digest);
      return failed === undefined || now - failed >= retryMs;
    });
    let checks = 0;
    let failures = 0;
    const queue = [...rechecks, ...unverified].slice(0, this.o.verifyBudget ?? 2000);
    const worker = async () => {
      for (let c = queue.shift(); c; c = queue.shift()) {
        const recheck = this.verified.has(c.digest);
        checks++;
        this.totals.verifyChecks++;
        let reply: Buffer;
        try {
          reply = await ask(c.key);
        } catch (e) {
          // A verified answer stays while BIND cannot be asked (overloaded, restarting): taking
          // the cache away then would only add to its load. It is asked again next tick.
          if (recheck) continue;
          this.lastVerifyFailure = { question: describe(c.key), mismatches: [`BIND did not answer: ${(e as Error).message}`] };
          failures++;
          this.totals.verifyFailures++;
          this.failedAt.set(c.digest, this.nowMs());
          continue;
        }
        // Over TCP named sends the whole answer; a trimmed UDP answer is checked by its whole form.
        const result = verifyResponse(c.verifyWire, reply);
        if (result.mismatches.length === 0) {
          this.verified.set(c.digest, this.nowMs() + recheckDelay(c.digest, this.o.recheckMs ?? 60_000));
          this.failedAt.delete(c.digest);
          continue;
        }
        this.lastVerifyFailure = { question: describe(c.key), mismatches: result.mismatches };
        if (recheck && serving(c)) this.totals.recheckWithdrawals++;
        this.verified.delete(c.digest);
        failures++;
        this.totals.verifyFailures++;
        this.failedAt.set(c.digest, this.nowMs());
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    // A recheck the budget left for a later tick keeps an answer in service until then, but
    // installs nothing new: that needs a verification that has not come due.
    const standing = (c: Candidate) => {
      const due = this.verified.get(c.digest);
      return due !== undefined && (now < due || serving(c));
    };
    return { accepted: chosen.filter(standing), checks, failures };
  }

  private entryFrom(c: Candidate, slot: number, hitsSeen: number, stamp: ZoneStamp | undefined): InstalledEntry {
    const value = Buffer.from(c.entry.value);
    hostOrder.writeU32(value, this.o.abi.value.slot, slot);
    if (stamp) writeZoneStamp(value, stamp, this.o.abi);
    return { id: c.id, key: c.key, zone: c.zone, digest: c.digest, bytes: c.bytes, slot, cacheKey: { key: c.entry.key }, value, hitsSeen, expiresNs: 0n };
  }

  private removeEntries(entries: InstalledEntry[]): void {
    if (entries.length === 0) return;
    this.o.maps.remove(entries.map((e) => e.cacheKey));
    for (const e of entries) {
      this.installed.delete(e.id);
      // Only now that the key is gone can no packet count into the slot.
      this.slots.release(e.slot);
    }
    this.totals.removals += entries.length;
  }
}

/** A dynamic zone named signs, built from its file: its serial moves for re-signs and updates
 * alike (see zone-state). */
function recheckedAtEverySerial(zone: RegisteredZone): boolean {
  return zone.state.signedByNamed && zone.state.dynamic;
}

/** Each zone model read (a parse, a transfer) gets its own number: data read anew is never
 * taken for the data read before, even under the same serial (an edit that forgot to bump it). */
const modelReads = new WeakMap<object, number>();
let modelsRead = 0;
function modelRead(model: object): number {
  let n = modelReads.get(model);
  if (n === undefined) modelReads.set(model, (n = ++modelsRead));
  return n;
}

/**
 * What a zone's answers are built from, as a token: the model read (with the file's serial, for
 * people), and for a dynamic zone named signs also the serial BIND serves (its answers are
 * verified anew at each).
 */
function zoneVersion(zone: RegisteredZone): string {
  const model = zone.model as NonNullable<RegisteredZone['model']>;
  const read = `${soaSerialOf(model)}#${modelRead(model)}`;
  return recheckedAtEverySerial(zone) ? `${read}/${zone.state.bindSerial ?? ''}` : read;
}

/** Between 3/4 of `recheckMs` and all of it, by the digest: answers verified together (after a
 * start or a zone change) come due spread over a quarter of the interval, not in one tick. */
function recheckDelay(digest: string, recheckMs: number): number {
  return recheckMs * (0.75 + (0.25 * parseInt(digest.slice(0, 4), 16)) / 0x10000);
}

function describe(key: QuestionKey): string {
  const bits = [key.flags & KEY_RD ? 'RD' : '', key.flags & KEY_EDNS ? 'EDNS' : '', key.flags & KEY_DO ? 'DO' : '', key.flags & KEY_V6 ? 'v6' : 'v4'].filter(Boolean);
  return `${key.name} ${typeName(key.qtype)} ${bits.join('+')}`;
}
