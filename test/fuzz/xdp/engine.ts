/**
 * The differential XDP fuzzer: installs the universe, then runs `cases` generated frames
 * through the real program, switching settings every block of cases, and reports throughput,
 * the spread of outcomes, and every disagreement with the model (each saved as a regression).
 * Case i of seed s is regenerated from (s, i) alone.
 */
import { SantaUnderTest } from '../../xdp/harness';
import { Rng } from '../random';
import { generateCase } from './generate';
import { FuzzLimiter } from './limiter';
import { CacheKey, writeZoneStamp } from '../../../sidecar/bpf/codec';
import { CaseWorld, outcomeName, runCase, runLoopbackGuardCase, wallSecond } from './oracle';
import { RegressionCase, savedSettings, saveRegression } from './regressions';
import { rateLimitConfig, SETTINGS_VARIANTS, SettingsVariant } from './settings';
import { buildUniverse, Universe } from './universe';

/** The test run's buffer is a page (less headroom and skb_shared_info), so a frame can grow
 * far beyond the largest reply (22 + 40 + 8 + 1232 bytes): NO_ROOM never happens there. */
export const TEST_RUN_MAX_FRAME = 3000;
const SETTINGS_STREAM = 0x80000000;

export interface FuzzOptions {
  seed: number;
  cases: number;
  /** First case index (to resume or to rerun one case). */
  first?: number;
  /** Cases per settings block. */
  settingsEvery?: number;
  /** Stop after this many failures. */
  maxFailures?: number;
  /** Where failing cases are saved; undefined: not saved. */
  regressionDir?: string;
  /** Stop early after this long, reporting how many cases ran. */
  timeLimitMs?: number;
  log?: (line: string) => void;
}

export interface FuzzFailure {
  seed: number;
  index: number;
  kind: string;
  settingsName: string;
  frameHex: string;
  model: string;
  problems: string[];
  savedAs?: string;
}

export interface FuzzReport {
  seed: number;
  cases: number;
  elapsedMs: number;
  casesPerSecond: number;
  outcomes: Record<string, number>;
  kinds: Record<string, number>;
  /** "cookie kind -> outcome" for valid queries with a COOKIE option: proof each kind of
   * cookie reached the decision it was made for. */
  cookieOutcomes: Record<string, number>;
  failures: FuzzFailure[];
  /** Per-entry hit counters that did not move as the model's hits say. */
  hitCounterMismatches: string[];
  /** Cases the loopback guard also ran on (every one the test run can make an skb of), and how
   * many of them it bumped a zone for. */
  loopbackGuardRuns: number;
  loopbackGuardBumps: number;
}

export function settingsForBlock(seed: number, block: number): SettingsVariant {
  const rng = new Rng(seed, SETTINGS_STREAM + block);
  return rng.weighted(SETTINGS_VARIANTS.map((v) => [v.weight, v] as const));
}

export class XdpFuzzer {
  readonly universe: Universe = buildUniverse();
  private readonly slots: number[];
  /** The program's rate limiter and its reference model, configured per settings block. */
  readonly limiter: FuzzLimiter;

  constructor(readonly santa: SantaUnderTest) {
    this.limiter = new FuzzLimiter(santa);
    this.slots = [...new Set(this.universe.entries.map((e) => e.slot))];
    santa.maps.readZoneGens().forEach((gen, slot) => gen && this.zoneGens.set(slot, gen));
    // Every third entry is stamped as the apex of a zone of its own, so that a generated UPDATE
    // or NOTIFY for its name stops it (PASS_ZONE_CHANGED); the others keep slot 0.
    this.universe.entries.forEach((e, i) => {
      if (i % 3 !== 0) return;
      const slot = this.zoneSlot(e.name);
      e.zone = { slot, gen: this.zoneGens.get(slot) ?? 0 };
      writeZoneStamp(this.universe.mapEntries[i].value, e.zone);
    });
    santa.maps.zeroSlots(this.slots);
    santa.maps.install(this.universe.mapEntries);
  }

  /** What user space does once a changed zone is verified again: entries stamped with their
   * zone's generation now, so they hit again (until the next UPDATE or NOTIFY for it). */
  private restampChangedZones(): void {
    const changed: Array<CacheKey & { value: Buffer }> = [];
    this.universe.entries.forEach((e, i) => {
      const gen = e.zone && (this.zoneGens.get(e.zone.slot) ?? 0);
      if (!e.zone || gen === e.zone.gen) return;
      e.zone = { slot: e.zone.slot, gen: gen as number };
      writeZoneStamp(this.universe.mapEntries[i].value, e.zone);
      changed.push(this.universe.mapEntries[i]);
    });
    if (changed.length) this.santa.maps.install(changed);
  }

  /** The zone change guard's generations as the program holds them (runCase bumps them). */
  readonly zoneGens = new Map<number, number>();
  readonly zoneSlot = (apex: Buffer): number => this.santa.maps.zoneSlot(apex);

  world(variant: Pick<SettingsVariant, 'settings'>): CaseWorld {
    return { settings: variant.settings, entries: this.universe.index, maxFrame: TEST_RUN_MAX_FRAME, zoneGens: this.zoneGens, zoneSlot: this.zoneSlot };
  }

  close(): void {
    this.limiter.close();
  }

  run(opts: FuzzOptions): FuzzReport {
    const every = opts.settingsEvery ?? 1000;
    const first = opts.first ?? 0;
    const log = opts.log ?? (() => undefined);
    const report: FuzzReport = { seed: opts.seed, cases: 0, elapsedMs: 0, casesPerSecond: 0, outcomes: {}, kinds: {}, cookieOutcomes: {}, failures: [], hitCounterMismatches: [], loopbackGuardRuns: 0, loopbackGuardBumps: 0 };
    const expectedHits = new Map<number, number>();
    const hitsBefore = this.santa.maps.readHits(this.slots);
    const start = Date.now();
    let variant: SettingsVariant | undefined;
    let block = -1;
    try {
      for (let index = first; index < first + opts.cases; index++) {
        if (Math.floor(index / every) !== block) {
          block = Math.floor(index / every);
          variant = settingsForBlock(opts.seed, block);
          this.restampChangedZones();
          this.santa.settings(variant.settings);
          this.limiter.configure(rateLimitConfig(variant.rateLimit));
        }
        const v = variant!;
        const nowSeconds = wallSecond(v.settings, process.hrtime.bigint());
        const c = generateCase(Rng.forCase(opts.seed, index), this.universe, { settings: v.settings, nowSeconds });
        const verdict = runCase(this.santa, this.world(v), c.frame, this.limiter);
        // The same bytes through the loopback guard, which shares the zone generations.
        const guard = runLoopbackGuardCase(this.santa, this.world(v), c.frame);
        if (guard) {
          report.loopbackGuardRuns++;
          if (guard.bumped) report.loopbackGuardBumps++;
          verdict.problems.push(...guard.problems);
        }
        const outcome = outcomeName(verdict.decision);
        report.outcomes[outcome] = (report.outcomes[outcome] ?? 0) + 1;
        const kind = c.kind.split(':')[0];
        report.kinds[kind] = (report.kinds[kind] ?? 0) + 1;
        if (c.kind.startsWith('valid:cookie-')) {
          const key = `${c.kind.slice('valid:cookie-'.length)}${v.settings.cookie ? '' : ' (cookies off)'} -> ${outcome}`;
          report.cookieOutcomes[key] = (report.cookieOutcomes[key] ?? 0) + 1;
        }
        if (verdict.decision.verdict === 'tx' && verdict.problems.length === 0) {
          expectedHits.set(verdict.decision.slot, (expectedHits.get(verdict.decision.slot) ?? 0) + 1);
        }
        report.cases++;
        if (verdict.problems.length > 0) {
          const failure: FuzzFailure = {
            seed: opts.seed,
            index,
            kind: c.kind,
            settingsName: v.name,
            frameHex: c.frame.toString('hex'),
            model: outcome,
            problems: verdict.problems,
          };
          if (opts.regressionDir) {
            const saved: RegressionCase = { ...failure, ...savedSettings(v.settings, nowSeconds), ...(v.rateLimit ? { rateLimit: v.rateLimit } : {}) };
            failure.savedAs = saveRegression(saved, opts.regressionDir);
          }
          log(`FAIL seed ${opts.seed} case ${index} (${c.kind}, settings ${v.name}, model ${outcome}): ${verdict.problems.join('; ')}\n  frame ${failure.frameHex}`);
          report.failures.push(failure);
          if (report.failures.length >= (opts.maxFailures ?? 20)) break;
        }
        if (opts.timeLimitMs !== undefined && (index & 255) === 0 && Date.now() - start > opts.timeLimitMs) break;
      }
    } finally {
      // Later single runs (sweeps, replays) expect no limiter unless they configure one, and
      // every entry serving.
      this.limiter.configure(null);
      this.restampChangedZones();
    }
    report.elapsedMs = Date.now() - start;
    report.casesPerSecond = Math.round((report.cases / Math.max(1, report.elapsedMs)) * 1000);
    const hitsAfter = this.santa.maps.readHits(this.slots);
    this.slots.forEach((slot, i) => {
      const moved = hitsAfter[i] - hitsBefore[i];
      const want = expectedHits.get(slot) ?? 0;
      // A failing case may or may not have counted; only judge runs without failures.
      if (report.failures.length === 0 && moved !== want) report.hitCounterMismatches.push(`slot ${slot}: ${moved} hits counted, model ${want}`);
    });
    return report;
  }
}
