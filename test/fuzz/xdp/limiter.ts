/**
 * Response rate limiting for the differential fuzzer: the program's limiter configured through
 * the sidecar's own map writer, and the sidecar's reference model (sidecar/rrl/model.ts) fed
 * the same configuration. Buckets are stateful and keyed on whole seconds of jiffies, so the
 * model is told the second the program used, read from the bucket the run debited (its
 * timestamp), after checking that second against the clock around the run. Everything else
 * (which bucket, balances, slip counts, drop or slip or answer) the model computes.
 */
import { endianness } from 'node:os';
import { santaAbi } from '../../../sidecar/bpf/abi';
import { prefixMask } from '../../../sidecar/net/ip';
import type { RrlConfig } from '../../../sidecar/rrl/config';
import { kernelClock } from '../../../sidecar/bpf/kernel-clock';
import { rrlIdentity, RrlKind, type RrlIdentity } from '../../../sidecar/rrl/identity';
import { RrlMaps } from '../../../sidecar/rrl/maps';
import { RrlModel, type RrlVerdict } from '../../../sidecar/rrl/model';
import { decodeBucket } from '../../../sidecar/rrl/codec';
import type { SantaUnderTest } from '../../xdp/harness';
import { clientAddressText } from '../model';

const KIND_ALL = 5; // SANTA_RRL_ALL
/** Seconds the bucket's second may differ from the clock read around the run: jiffies are
 * converted from the monotonic clock by a calibration, good to a tick or so. */
const CLOCK_SLACK_S = 1;

export interface LimiterRequest {
  client: Buffer;
  family: 4 | 6;
  response: Buffer;
}

export interface LimiterVerdict {
  verdict: RrlVerdict;
  problems: string[];
}

export class FuzzLimiter {
  private readonly maps: RrlMaps;
  private readonly hz = kernelClock().hz;
  private readonly abi = santaAbi();
  private readonly bucketsFd: number;
  private cfg: RrlConfig | null = null;
  private model: RrlModel | null = null;
  private readonly identities = new WeakMap<Buffer, RrlIdentity>();

  constructor(private readonly santa: SantaUnderTest) {
    this.maps = RrlMaps.open({ kind: 'fds', fds: santa.obj.maps }, santa.bpf, this.abi);
    this.bucketsFd = santa.obj.maps[this.abi.rrl.maps.buckets];
  }

  get on(): boolean {
    return this.cfg !== null;
  }

  /** A fresh limiter (no buckets) with this configuration; null turns it off. */
  configure(cfg: RrlConfig | null): void {
    this.maps.clearBuckets();
    this.maps.writeConfig(cfg, this.hz);
    this.cfg = cfg;
    this.model = cfg ? new RrlModel(cfg) : null;
  }

  /** The jiffies second the program would read at monotonic time `ns`. */
  second(ns: bigint): number {
    return Number(this.santa.maps.leaseJiffies(ns) / BigInt(this.hz)) >>> 0;
  }

  /** The model's verdict for one answer the program has just been run on; `lo`..`hi` the
   * seconds read before and after the run. */
  decide(r: LimiterRequest, lo: number, hi: number): LimiterVerdict {
    const cfg = this.cfg!;
    const identity = this.identity(r.response);
    const client = clientAddressText(r.client);
    const bucket = this.debitedBucket(cfg, r, identity);
    if (!bucket) return { verdict: this.model!.decide(client, identity, lo), problems: [] }; // exempt or unlimited: time plays no part
    const problems: string[] = [];
    const raw = this.santa.bpf.lookup(this.bucketsFd, bucket);
    let now = lo;
    if (!raw) problems.push(`no RRL bucket for ${client} kind ${identity.kind} id ${identity.id} after the run`);
    else {
      now = decodeBucket(raw, this.abi.rrl).ts;
      if (now < lo - CLOCK_SLACK_S || now > hi + CLOCK_SLACK_S) problems.push(`RRL bucket second ${now} is outside the clock around the run [${lo}, ${hi}]`);
    }
    return { verdict: this.model!.decide(client, identity, now), problems };
  }

  close(): void {
    this.maps.close();
  }

  private identity(response: Buffer): RrlIdentity {
    let id = this.identities.get(response);
    if (!id) {
      id = rrlIdentity(response);
      this.identities.set(response, id);
    }
    return id;
  }

  /** The raw key of a bucket this answer debits (its own kind's, else all-per-second's), or
   * undefined when it debits none: exempt, or no rate applies. */
  private debitedBucket(cfg: RrlConfig, r: LimiterRequest, identity: RrlIdentity): Buffer | undefined {
    if (this.exempt(cfg, r)) return undefined;
    const rates: Record<RrlKind, number> = {
      [RrlKind.Response]: cfg.responsesPerSecond,
      [RrlKind.Nxdomain]: cfg.nxdomainsPerSecond,
      [RrlKind.Nodata]: cfg.nodataPerSecond,
      [RrlKind.Referral]: cfg.referralsPerSecond,
      [RrlKind.Error]: cfg.errorsPerSecond,
    };
    if (rates[identity.kind] > 0) return this.bucketKey(cfg, r, identity.kind, identity.id);
    if (cfg.allPerSecond > 0) return this.bucketKey(cfg, r, KIND_ALL, 0);
    return undefined;
  }

  private exempt(cfg: RrlConfig, r: LimiterRequest): boolean {
    for (const p of cfg.exemptClients) {
      if (p.family !== r.family) continue;
      const mask = prefixMask(r.client.length, p.length);
      if (r.client.every((b, i) => (b & mask[i]) === p.address[i])) return !p.negated;
    }
    return false;
  }

  private bucketKey(cfg: RrlConfig, r: LimiterRequest, kind: number, id: number): Buffer {
    const k = this.abi.rrl.key;
    const key = Buffer.alloc(k.size);
    const mask = prefixMask(r.client.length, r.family === 4 ? cfg.ipv4PrefixLength : cfg.ipv6PrefixLength);
    r.client.forEach((b, i) => (key[k.addr + i] = b & mask[i]));
    key[k.family] = r.family;
    key[k.kind] = kind;
    if (endianness() === 'LE') key.writeUInt32LE(id >>> 0, k.id);
    else key.writeUInt32BE(id >>> 0, k.id);
    return key;
  }
}
